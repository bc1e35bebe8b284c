-- The payment service's schema: run once as an administrator (see README "Applications").
CREATE TABLE IF NOT EXISTS payments (
  id          text PRIMARY KEY,
  amount      numeric(14, 2) NOT NULL,
  currency    text NOT NULL,
  beneficiary text NOT NULL,
  status      text NOT NULL CHECK (status IN ('released', 'awaiting_review', 'rejected')),
  attestation jsonb NOT NULL,
  released_at timestamptz
);
