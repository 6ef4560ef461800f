//! The signed CloudEvents envelope every MQTT message travels in.
