//! End-to-end tests across cloud, agents and simulated cars, all in one process over real
//! loopback HTTP and MQTT (one binary, one module per concern).

mod bench;
mod commands;
mod journey;
mod offline;
mod support;
mod tls;
mod up_cli;
