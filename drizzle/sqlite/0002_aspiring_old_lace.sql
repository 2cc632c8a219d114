CREATE TABLE `evidence_drafts` (
	`request_id` integer NOT NULL,
	`merchant_id` text NOT NULL,
	`explanation` text NOT NULL,
	`updated_at` integer NOT NULL,
	FOREIGN KEY (`request_id`) REFERENCES `evidence_requests`(`id`) ON UPDATE no action ON DELETE no action
);
--> statement-breakpoint
CREATE UNIQUE INDEX `evidence_drafts_request_uq` ON `evidence_drafts` (`request_id`);--> statement-breakpoint
CREATE TABLE `uploads` (
	`id` text PRIMARY KEY NOT NULL,
	`merchant_id` text NOT NULL,
	`request_id` integer NOT NULL,
	`file_name` text NOT NULL,
	`length` integer NOT NULL,
	`offset` integer NOT NULL,
	`content_type` text,
	`created_at` integer NOT NULL,
	`expires_at` integer NOT NULL,
	FOREIGN KEY (`request_id`) REFERENCES `evidence_requests`(`id`) ON UPDATE no action ON DELETE no action
);
--> statement-breakpoint
CREATE INDEX `uploads_request_idx` ON `uploads` (`request_id`);--> statement-breakpoint
CREATE INDEX `uploads_expires_idx` ON `uploads` (`expires_at`);--> statement-breakpoint
PRAGMA foreign_keys=OFF;--> statement-breakpoint
CREATE TABLE `__new_evidence_files` (
	`id` integer PRIMARY KEY AUTOINCREMENT NOT NULL,
	`submission_id` integer,
	`staged_for` integer,
	`merchant_id` text NOT NULL,
	`position` integer NOT NULL,
	`file_name` text NOT NULL,
	`content_type` text NOT NULL,
	`byte_size` integer NOT NULL,
	`sha256` text NOT NULL,
	FOREIGN KEY (`submission_id`) REFERENCES `evidence_submissions`(`id`) ON UPDATE no action ON DELETE no action,
	FOREIGN KEY (`staged_for`) REFERENCES `evidence_requests`(`id`) ON UPDATE no action ON DELETE no action
);
--> statement-breakpoint
INSERT INTO `__new_evidence_files`("id", "submission_id", "staged_for", "merchant_id", "position", "file_name", "content_type", "byte_size", "sha256") SELECT "id", "submission_id", NULL, "merchant_id", "position", "file_name", "content_type", "byte_size", "sha256" FROM `evidence_files`;--> statement-breakpoint
DROP TABLE `evidence_files`;--> statement-breakpoint
ALTER TABLE `__new_evidence_files` RENAME TO `evidence_files`;--> statement-breakpoint
PRAGMA foreign_keys=ON;--> statement-breakpoint
CREATE INDEX `evidence_files_submission_idx` ON `evidence_files` (`submission_id`,`position`);--> statement-breakpoint
CREATE INDEX `evidence_files_staged_idx` ON `evidence_files` (`staged_for`,`position`) WHERE staged_for IS NOT NULL;--> statement-breakpoint
CREATE INDEX `evidence_files_sha256_idx` ON `evidence_files` (`sha256`);