-- 0003: Web3 challenge login. A challenge is a message with a single-use nonce for one
-- address; submitting it (signed, EIP-191) spends it whether or not the signature is good.

CREATE TABLE web3_challenges (
    state       TEXT PRIMARY KEY,                -- handed to the client, sent back on submit
    address     TEXT NOT NULL,                   -- lowercase 0x address
    message     TEXT NOT NULL,                   -- exactly what the wallet must sign
    created_at  BIGINT NOT NULL,
    expires_at  BIGINT NOT NULL,
    used_at     BIGINT
);
