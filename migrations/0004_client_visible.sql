-- Whether client SDK keys (browsers, mobile apps) may see a flag at all. Server keys
-- see every flag.
ALTER TABLE flags ADD COLUMN client_visible boolean NOT NULL DEFAULT true;
