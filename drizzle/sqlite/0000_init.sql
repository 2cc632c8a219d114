CREATE TABLE `after_sale_logs` (
	`id` integer PRIMARY KEY AUTOINCREMENT NOT NULL,
	`after_sale_id` integer NOT NULL,
	`at` integer NOT NULL,
	`actor` text NOT NULL,
	`actor_id` text,
	`action` text NOT NULL,
	`summary` text NOT NULL,
	FOREIGN KEY (`after_sale_id`) REFERENCES `after_sales`(`id`) ON UPDATE no action ON DELETE no action
);
--> statement-breakpoint
CREATE INDEX `after_sale_logs_after_sale_idx` ON `after_sale_logs` (`after_sale_id`,`id`);--> statement-breakpoint
CREATE TABLE `after_sales` (
	`id` integer PRIMARY KEY AUTOINCREMENT NOT NULL,
	`merchant_id` text NOT NULL,
	`number` text NOT NULL,
	`order_number` text NOT NULL,
	`type` text NOT NULL,
	`reason` text NOT NULL,
	`buyer_claim` text NOT NULL,
	`amount_cents` integer NOT NULL,
	`status` text NOT NULL,
	`applied_at` integer NOT NULL,
	`created_at` integer NOT NULL,
	`outcome` text,
	`decided_by` text,
	`decided_at` integer,
	`opinion` text,
	FOREIGN KEY (`merchant_id`) REFERENCES `merchants`(`id`) ON UPDATE no action ON DELETE no action
);
--> statement-breakpoint
CREATE UNIQUE INDEX `after_sales_number_uq` ON `after_sales` (`number`);--> statement-breakpoint
CREATE INDEX `after_sales_merchant_order_idx` ON `after_sales` (`merchant_id`,`order_number`);--> statement-breakpoint
CREATE TABLE `evidence_files` (
	`id` integer PRIMARY KEY AUTOINCREMENT NOT NULL,
	`submission_id` integer NOT NULL,
	`merchant_id` text NOT NULL,
	`position` integer NOT NULL,
	`file_name` text NOT NULL,
	`content_type` text NOT NULL,
	`byte_size` integer NOT NULL,
	`sha256` text NOT NULL,
	FOREIGN KEY (`submission_id`) REFERENCES `evidence_submissions`(`id`) ON UPDATE no action ON DELETE no action
);
--> statement-breakpoint
CREATE INDEX `evidence_files_submission_idx` ON `evidence_files` (`submission_id`,`position`);--> statement-breakpoint
CREATE TABLE `evidence_requests` (
	`id` integer PRIMARY KEY AUTOINCREMENT NOT NULL,
	`after_sale_id` integer NOT NULL,
	`merchant_id` text NOT NULL,
	`instructions` text NOT NULL,
	`requested_by` text NOT NULL,
	`requested_at` integer NOT NULL,
	`due_at` integer NOT NULL,
	`status` text NOT NULL,
	`reminded_at` integer,
	`closed_at` integer,
	FOREIGN KEY (`after_sale_id`) REFERENCES `after_sales`(`id`) ON UPDATE no action ON DELETE no action
);
--> statement-breakpoint
CREATE INDEX `evidence_requests_workbench_idx` ON `evidence_requests` (`merchant_id`,`status`,`due_at`,`id`);--> statement-breakpoint
CREATE INDEX `evidence_requests_after_sale_idx` ON `evidence_requests` (`after_sale_id`,`id`);--> statement-breakpoint
CREATE INDEX `evidence_requests_open_due_idx` ON `evidence_requests` (`due_at`) WHERE status = 'OPEN';--> statement-breakpoint
CREATE INDEX `evidence_requests_unreminded_due_idx` ON `evidence_requests` (`due_at`) WHERE status = 'OPEN' AND reminded_at IS NULL;--> statement-breakpoint
CREATE TABLE `evidence_submissions` (
	`id` integer PRIMARY KEY AUTOINCREMENT NOT NULL,
	`request_id` integer NOT NULL,
	`after_sale_id` integer NOT NULL,
	`merchant_id` text NOT NULL,
	`explanation` text NOT NULL,
	`submitted_by` text NOT NULL,
	`submitted_at` integer NOT NULL,
	`idempotency_key` text,
	`fingerprint` text NOT NULL,
	FOREIGN KEY (`request_id`) REFERENCES `evidence_requests`(`id`) ON UPDATE no action ON DELETE no action,
	FOREIGN KEY (`after_sale_id`) REFERENCES `after_sales`(`id`) ON UPDATE no action ON DELETE no action
);
--> statement-breakpoint
CREATE UNIQUE INDEX `evidence_submissions_request_uq` ON `evidence_submissions` (`request_id`);--> statement-breakpoint
CREATE UNIQUE INDEX `evidence_submissions_idempotency_uq` ON `evidence_submissions` (`merchant_id`,`idempotency_key`);--> statement-breakpoint
CREATE TABLE `merchants` (
	`id` text PRIMARY KEY NOT NULL,
	`name` text NOT NULL,
	`created_at` integer NOT NULL
);
--> statement-breakpoint
CREATE TABLE `messages` (
	`id` integer PRIMARY KEY AUTOINCREMENT NOT NULL,
	`merchant_id` text NOT NULL,
	`after_sale_id` integer NOT NULL,
	`kind` text NOT NULL,
	`title` text NOT NULL,
	`body` text NOT NULL,
	`created_at` integer NOT NULL,
	`read_at` integer,
	FOREIGN KEY (`after_sale_id`) REFERENCES `after_sales`(`id`) ON UPDATE no action ON DELETE no action
);
--> statement-breakpoint
CREATE INDEX `messages_merchant_idx` ON `messages` (`merchant_id`,`id`);--> statement-breakpoint
CREATE INDEX `messages_unread_idx` ON `messages` (`merchant_id`,`id`) WHERE read_at IS NULL;