//! `sockscope addr`: the address panel's answers for scripts.

use super::AddrArgs;
use crate::addr::{self, interfaces, AddrReport};
use serde_json::json;
use std::process::ExitCode;

/// Prints one answer per input (and per interface address); exit 2 if any input was bad.
pub(super) fn run(args: &AddrArgs) -> ExitCode {
    let mut bad = false;
    if args.interfaces {
        for i in interfaces::list() {
            let report = addr::report(&i.name, i.address, Some(i.prefix));
            if args.json {
                let mut value = serde_json::to_value(&report).unwrap_or_default();
                if let Some(obj) = value.as_object_mut() {
                    obj.insert("interface".into(), json!(i.name));
                    obj.insert("up".into(), json!(i.up));
                }
                println!("{value}");
            } else {
                println!("{} ({})", i.name, if i.up { "up" } else { "down" });
                print_text(&report);
            }
        }
    }
    for input in &args.inputs {
        match addr::classify(input) {
            Ok(report) if args.json => {
                println!("{}", serde_json::to_string(&report).unwrap_or_default())
            }
            Ok(report) => print_text(&report),
            Err(e) => {
                bad = true;
                if args.json {
                    println!("{}", json!({"input": input, "error": e.to_string()}));
                } else {
                    eprintln!("sockscope: error: {input}: {e}");
                }
            }
        }
    }
    if bad {
        ExitCode::from(2)
    } else {
        ExitCode::SUCCESS
    }
}

fn print_text(r: &AddrReport) {
    let class = r
        .class
        .as_deref()
        .map(|c| format!(", class {c}"))
        .unwrap_or_default();
    println!(
        "{}/{}  (IPv{}{class}, prefix {:?})",
        r.address, r.prefix, r.version, r.prefix_source
    );
    println!("  netmask     {}   wildcard {}", r.netmask, r.wildcard);
    println!("  network     {}", r.network);
    if let Some(b) = &r.broadcast {
        println!("  broadcast   {b}");
    }
    println!(
        "  hosts       {} – {}  ({} usable of {})",
        r.first_host, r.last_host, r.usable_hosts, r.addresses
    );
    println!("  binary      {}", r.binary);
    println!("  hex / int   {} / {}", r.hex, r.integer);
    for range in &r.ranges {
        let reach = if range.global {
            "globally reachable"
        } else {
            "not globally reachable"
        };
        println!(
            "  range       {} {} ({}, {reach})",
            range.block, range.name, range.rfc
        );
    }
    if let Some(scope) = &r.multicast_scope {
        println!("  scope       {scope}");
    }
    println!("  global      {}", r.flags.global);
}
