CREATE TABLE "evidence_drafts" (
	"request_id" integer NOT NULL,
	"merchant_id" text NOT NULL,
	"explanation" text NOT NULL,
	"updated_at" bigint NOT NULL
);
--> statement-breakpoint
CREATE TABLE "uploads" (
	"id" text PRIMARY KEY NOT NULL,
	"merchant_id" text NOT NULL,
	"request_id" integer NOT NULL,
	"file_name" text NOT NULL,
	"length" bigint NOT NULL,
	"offset" bigint NOT NULL,
	"content_type" text,
	"created_at" bigint NOT NULL,
	"expires_at" bigint NOT NULL
);
--> statement-breakpoint
ALTER TABLE "evidence_files" ALTER COLUMN "submission_id" DROP NOT NULL;--> statement-breakpoint
ALTER TABLE "evidence_files" ADD COLUMN "staged_for" integer;--> statement-breakpoint
ALTER TABLE "evidence_drafts" ADD CONSTRAINT "evidence_drafts_request_id_evidence_requests_id_fk" FOREIGN KEY ("request_id") REFERENCES "public"."evidence_requests"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "uploads" ADD CONSTRAINT "uploads_request_id_evidence_requests_id_fk" FOREIGN KEY ("request_id") REFERENCES "public"."evidence_requests"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
CREATE UNIQUE INDEX "evidence_drafts_request_uq" ON "evidence_drafts" USING btree ("request_id");--> statement-breakpoint
CREATE INDEX "uploads_request_idx" ON "uploads" USING btree ("request_id");--> statement-breakpoint
CREATE INDEX "uploads_expires_idx" ON "uploads" USING btree ("expires_at");--> statement-breakpoint
ALTER TABLE "evidence_files" ADD CONSTRAINT "evidence_files_staged_for_evidence_requests_id_fk" FOREIGN KEY ("staged_for") REFERENCES "public"."evidence_requests"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
CREATE INDEX "evidence_files_staged_idx" ON "evidence_files" USING btree ("staged_for","position") WHERE staged_for IS NOT NULL;--> statement-breakpoint
CREATE INDEX "evidence_files_sha256_idx" ON "evidence_files" USING btree ("sha256");