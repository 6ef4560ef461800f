//! OBD-II (SAE J1979) requests and responses, SAE J2012 trouble codes, VIN validation.
