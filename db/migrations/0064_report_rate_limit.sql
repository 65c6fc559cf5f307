-- 0064: a bound on how many reports one user files. api.report took one filing per reporter per case and
-- any number of cases (one per target and reason), so one account could flood the review queue; a user now
-- files at most review.max_reports_per_hour reports in any sixty minutes, the next is refused (LP145).
INSERT INTO lp.settings (key, value, description) VALUES
    ('review.max_reports_per_hour', '20', 'At most this many reports (api.report filings) one user files in any sixty minutes; the next is refused (LP145) until the oldest of them is an hour old. Staff and the back office acting for a user are not limited.');
