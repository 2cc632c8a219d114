DROP INDEX `evidence_requests_workbench_idx`;--> statement-breakpoint
CREATE INDEX `evidence_requests_awaiting_idx` ON `evidence_requests` (`merchant_id`,`due_at`,`id`) WHERE status = 'OPEN';