//! Adapter wire codecs shared by agent and simulator: SLCAN (Lawicel) and socketcand.
