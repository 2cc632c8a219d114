-- An after-sale's status changes three or four times in its life (requested, submitted, decided), and no
-- index holds the columns that change: with room left on each page, such an update stays on its page
-- (a HOT update) and writes no index entry, where on a full page it writes one in each of the three
-- indexes. Applies to pages written from now on.
ALTER TABLE "after_sales" SET (fillfactor = 85);
