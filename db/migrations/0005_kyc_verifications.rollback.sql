DROP TABLE lp.kyc_verifications CASCADE;
