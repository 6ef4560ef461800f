//! Opening a serial port (USB CDC adapter, Bluetooth SPP, or a pseudo-terminal) for SLCAN and
//! ELM327, raw 8N1 without flow control.

use tokio_serial::{DataBits, FlowControl, Parity, SerialPortBuilderExt, SerialStream, StopBits};

/// Opens `path` at `baud`, 8N1, no flow control. Needs a running tokio runtime.
pub fn open_serial(path: &str, baud: u32) -> std::io::Result<SerialStream> {
    let mut port = tokio_serial::new(path, baud)
        .data_bits(DataBits::Eight)
        .parity(Parity::None)
        .stop_bits(StopBits::One)
        .flow_control(FlowControl::None)
        .open_native_async()
        .map_err(|e| std::io::Error::other(format!("cannot open serial port {path}: {e}")))?;
    // Exclusive access would stop a second process (or a test harness) from sharing a pty;
    // adapters are single-user anyway, so keep the default of the platform.
    #[cfg(unix)]
    port.set_exclusive(false)
        .map_err(|e| std::io::Error::other(format!("serial port {path}: {e}")))?;
    Ok(port)
}
