//! `sockscope generate udp|tcp HOST:PORT`: traffic at a rate or flat out.

use super::{CliError, GenerateArgs, ProbeTransport};
use crate::measure::generate::{self, GenerateOptions, Generated};
use serde_json::json;
use std::process::ExitCode;
use std::time::Duration;

/// `100M` → 100,000,000 bits per second.
fn parse_bitrate(text: &str) -> Option<f64> {
    let text = text.trim();
    let (number, scale) = match text.chars().last()? {
        'k' | 'K' => (&text[..text.len() - 1], 1e3),
        'm' | 'M' => (&text[..text.len() - 1], 1e6),
        'g' | 'G' => (&text[..text.len() - 1], 1e9),
        _ => (text, 1.0),
    };
    number
        .parse::<f64>()
        .ok()
        .map(|n| n * scale)
        .filter(|b| b.is_finite() && *b > 0.0)
}

pub(super) fn run(args: &GenerateArgs) -> Result<ExitCode, CliError> {
    let target = super::drive::resolve_target(&args.target)?;
    let max = if args.transport == ProbeTransport::Udp {
        65_507
    } else {
        1 << 24
    };
    if !(1..=max).contains(&args.packet.size) {
        return Err(CliError::Usage(format!("--size must be from 1 to {max}")));
    }
    let rate_pps = match (&args.rate, &args.bitrate) {
        (Some(r), _) if !(r.is_finite() && *r > 0.0) => {
            return Err(CliError::Usage("--rate must be above 0".into()))
        }
        (Some(r), _) => Some(*r),
        (None, Some(b)) => {
            let bits = parse_bitrate(b).ok_or_else(|| {
                CliError::Usage(format!("--bitrate: '{b}' is not a rate such as 100M"))
            })?;
            Some(bits / (args.packet.size as f64 * 8.0))
        }
        (None, None) => None,
    };
    let duration = match args.duration {
        Some(s) if !(s.is_finite() && s > 0.0) => {
            return Err(CliError::Usage("--duration must be above 0".into()))
        }
        Some(s) => Some(Duration::try_from_secs_f64(s).map_err(|_| {
            CliError::Usage(format!("--duration {s} is more seconds than can be waited"))
        })?),
        None => None,
    };
    let fill =
        super::drive::data_bytes(args.packet.data.as_deref(), args.packet.hex)?.unwrap_or(vec![0]);
    if fill.is_empty() {
        return Err(CliError::Usage("--data is empty".into()));
    }
    let options = GenerateOptions {
        rate_pps,
        count: args.count,
        duration,
        payload: fill
            .iter()
            .copied()
            .cycle()
            .take(args.packet.size)
            .collect(),
        stop: super::drive::stop_flag(),
    };
    let progress = |g: &Generated| {
        eprintln!(
            "sockscope: {} packets, {:.0} packets/s, {:.1} Mbit/s so far",
            g.sent_packets,
            g.packets_per_s,
            g.bits_per_s / 1e6
        );
    };
    let result = match args.transport {
        ProbeTransport::Udp => generate::udp(target, &options, progress),
        ProbeTransport::Tcp => generate::tcp(target, &options, progress),
    };
    match result {
        Ok(done) => {
            let mut line = serde_json::to_value(&done).unwrap_or_default();
            if let Some(fields) = line.as_object_mut() {
                fields.insert("event".into(), json!("summary"));
                fields.insert("target_packets_per_s".into(), json!(rate_pps));
            }
            println!("{line}");
            if let Some(why) = &done.ended_by {
                eprintln!("sockscope: error: the connection failed: {why}");
            }
            Ok(if done.sent_packets == 0 || done.ended_by.is_some() {
                ExitCode::from(1)
            } else {
                ExitCode::SUCCESS
            })
        }
        Err(e) => {
            eprintln!(
                "sockscope: error: {}",
                crate::engine::NetError::from_io(&e).at(target)
            );
            Ok(ExitCode::from(1))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::parse_bitrate;

    #[test]
    fn bitrates_read_with_their_units() {
        assert_eq!(parse_bitrate("100M"), Some(1e8));
        assert_eq!(parse_bitrate("1.5k"), Some(1500.0));
        assert_eq!(parse_bitrate("64"), Some(64.0));
        assert_eq!(parse_bitrate("fast"), None);
        assert_eq!(parse_bitrate("-1M"), None);
    }
}
