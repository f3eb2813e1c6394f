-- How many times a chataibot answer was claimed: an AI model that keeps failing is given up
-- after a few attempts, and the visitor gets an apology instead of silence.
ALTER TABLE reply_jobs ADD COLUMN attempts INTEGER NOT NULL DEFAULT 0;
