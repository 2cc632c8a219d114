-- Each shop's OPEN rounds, kept by the rules from now on, counted once here for the rounds already there.
ALTER TABLE `merchants` ADD `open_rounds` integer DEFAULT 0 NOT NULL;--> statement-breakpoint
UPDATE `merchants` SET `open_rounds` = (SELECT count(*) FROM `evidence_requests` r WHERE r.`merchant_id` = `merchants`.`id` AND r.`status` = 'OPEN');
