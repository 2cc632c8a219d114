-- Each shop's OPEN rounds, kept by the rules from now on, counted once here for the rounds already there.
-- The count changes with every round opened or closed: with room left on each page, such an update stays
-- on its page (HOT) and writes no index entry.
ALTER TABLE "merchants" SET (fillfactor = 50);--> statement-breakpoint
ALTER TABLE "merchants" ADD COLUMN "open_rounds" integer DEFAULT 0 NOT NULL;--> statement-breakpoint
UPDATE "merchants" SET "open_rounds" = (SELECT count(*) FROM "evidence_requests" r WHERE r."merchant_id" = "merchants"."id" AND r."status" = 'OPEN');
