//! CAN frames and ISO-TP (ISO 15765-2) segmentation and reassembly.
