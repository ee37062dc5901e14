-- category_sales.total_sales from numeric(18,2) to numeric(38,2) (CONTRACT.md, Postgres).
-- numeric(18,2) ends below 10^16: ten million records of the largest amount (just under 1e9)
-- in one (window, category) passed it, and every commit touching that row then failed with
-- SQLSTATE 22003, the same way each time. numeric(38,2) ends below 10^36: a window of a
-- year at a billion such records a second sums to about 3 * 10^25.
-- Only the precision grows and the scale stays: Postgres changes the column's type modifier
-- without rewriting the table, and existing rows keep their values.
ALTER TABLE category_sales ALTER COLUMN total_sales TYPE numeric(38,2);
