//! Checksums a device may expect at the end of a frame.
//!
//! Byte order on the wire: CRC-16/MODBUS low byte first (as Modbus RTU sends it); the other
//! CRCs most significant byte first.

use crc::{Crc, CRC_16_IBM_3740, CRC_16_MODBUS, CRC_16_XMODEM, CRC_32_ISO_HDLC};

/// A checksum appended to outgoing data.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
pub enum Checksum {
    /// Nothing appended.
    #[default]
    None,
    /// CRC-16/MODBUS (poly 0x8005 reflected, init 0xFFFF), low byte first.
    Crc16Modbus,
    /// CRC-16/CCITT-FALSE (poly 0x1021, init 0xFFFF), high byte first.
    Crc16CcittFalse,
    /// CRC-16/XMODEM (poly 0x1021, init 0), high byte first.
    Crc16Xmodem,
    /// CRC-32 (as zip and Ethernet compute it), high byte first.
    Crc32,
    /// Sum of all bytes modulo 256.
    Sum8,
    /// XOR of all bytes.
    Xor8,
}

impl Checksum {
    /// Every choice, in picker order.
    pub const ALL: [Checksum; 7] = [
        Self::None,
        Self::Crc16Modbus,
        Self::Crc16CcittFalse,
        Self::Crc16Xmodem,
        Self::Crc32,
        Self::Sum8,
        Self::Xor8,
    ];

    /// Name for pickers and the command line.
    pub fn label(self) -> &'static str {
        match self {
            Self::None => "none",
            Self::Crc16Modbus => "CRC-16/MODBUS",
            Self::Crc16CcittFalse => "CRC-16/CCITT-FALSE",
            Self::Crc16Xmodem => "CRC-16/XMODEM",
            Self::Crc32 => "CRC-32",
            Self::Sum8 => "SUM-8",
            Self::Xor8 => "XOR-8",
        }
    }

    /// The short names used in files and on the command line, in `ALL` order.
    pub const NAMES: [&'static str; 7] = [
        "none",
        "crc16-modbus",
        "crc16-ccitt",
        "crc16-xmodem",
        "crc32",
        "sum8",
        "xor8",
    ];

    /// The short name used in files and on the command line.
    pub fn name(self) -> &'static str {
        let i = Self::ALL.iter().position(|c| *c == self).unwrap_or(0);
        Self::NAMES[i]
    }

    /// Finds a checksum by its short name (case-insensitive).
    pub fn from_name(name: &str) -> Option<Self> {
        let name = name.trim().to_ascii_lowercase();
        Self::NAMES
            .iter()
            .position(|n| *n == name)
            .map(|i| Self::ALL[i])
    }

    /// The checksum bytes of `data`, in wire order.
    pub fn compute(self, data: &[u8]) -> Vec<u8> {
        match self {
            Self::None => Vec::new(),
            Self::Crc16Modbus => Crc::<u16>::new(&CRC_16_MODBUS)
                .checksum(data)
                .to_le_bytes()
                .to_vec(),
            Self::Crc16CcittFalse => Crc::<u16>::new(&CRC_16_IBM_3740)
                .checksum(data)
                .to_be_bytes()
                .to_vec(),
            Self::Crc16Xmodem => Crc::<u16>::new(&CRC_16_XMODEM)
                .checksum(data)
                .to_be_bytes()
                .to_vec(),
            Self::Crc32 => Crc::<u32>::new(&CRC_32_ISO_HDLC)
                .checksum(data)
                .to_be_bytes()
                .to_vec(),
            Self::Sum8 => vec![data.iter().fold(0u8, |a, b| a.wrapping_add(*b))],
            Self::Xor8 => vec![data.iter().fold(0u8, |a, b| a ^ b)],
        }
    }

    /// Appends the checksum of `data` to it.
    pub fn append_to(self, data: &mut Vec<u8>) {
        let sum = self.compute(data);
        data.extend_from_slice(&sum);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn catalogue_check_values() {
        // The standard check input "123456789" and each algorithm's published check value.
        let check = b"123456789";
        assert_eq!(Checksum::Crc16Modbus.compute(check), vec![0x37, 0x4B]); // 0x4B37
        assert_eq!(Checksum::Crc16CcittFalse.compute(check), vec![0x29, 0xB1]);
        assert_eq!(Checksum::Crc16Xmodem.compute(check), vec![0x31, 0xC3]);
        assert_eq!(Checksum::Crc32.compute(check), vec![0xCB, 0xF4, 0x39, 0x26]);
        assert_eq!(Checksum::Sum8.compute(check), vec![0xDD]);
        assert_eq!(Checksum::Xor8.compute(check), vec![0x31]);
        assert!(Checksum::None.compute(check).is_empty());
    }

    #[test]
    fn modbus_read_holding_registers_frame() {
        // 01 03 00 00 00 0A -> CRC C5 CD, the textbook Modbus RTU example.
        let mut frame = vec![0x01, 0x03, 0x00, 0x00, 0x00, 0x0A];
        Checksum::Crc16Modbus.append_to(&mut frame);
        assert_eq!(&frame[6..], &[0xC5, 0xCD]);
    }
}

#[cfg(test)]
mod name_tests {
    use super::*;
    use crate::payload::LineEnding;

    #[test]
    fn every_name_finds_its_value() {
        for (name, c) in Checksum::NAMES.iter().zip(Checksum::ALL) {
            assert_eq!(Checksum::from_name(name), Some(c));
        }
        for (name, l) in LineEnding::NAMES.iter().zip(LineEnding::ALL) {
            assert_eq!(LineEnding::from_name(name), Some(l));
        }
        assert_eq!(
            Checksum::from_name("CRC16-Modbus"),
            Some(Checksum::Crc16Modbus)
        );
        assert_eq!(Checksum::from_name("crc64"), None);
        assert_eq!(LineEnding::from_name("crlf\n"), Some(LineEnding::CrLf));
    }
}
