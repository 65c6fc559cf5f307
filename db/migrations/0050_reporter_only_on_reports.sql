-- 0050: a case's reporter_id names the first reporter only on a case a report opened. api.report used to set it
-- on any case a report merged into, a case a flag, the fraud controls or a system job opened included, and the
-- policy "reporters read their own reports" (gone with this release: only staff read lp.reports) then let that
-- user read the whole case (a chargeback's payment and provider reference, the decision). The reporter of such a
-- case is kept where it belongs, in their filing (lp.report_filings); lp.reports.reporter_id goes back to NULL
-- there, so that the erasure of that user (which blanks the description of the cases they reported) leaves the
-- automated case's own summary alone.
UPDATE lp.reports SET reporter_id = NULL WHERE source <> 'report' AND reporter_id IS NOT NULL;
