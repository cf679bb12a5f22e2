//! Decoding in the window: a decoded row and its detail, the Values panel, a chart of two
//! fields, and the values exported as CSV and read back.

use crate::decode::meter;
use crate::gui::{app, shown_texts, step_until, type_into};
use egui_kittest::kittest::Queryable;
use sockscope::ui::i18n::Lang;

#[test]
fn a_modbus_read_shows_its_values_charts_them_and_exports_them() {
    let (addr, device) = meter();
    let dir = crate::timeline::temp_dir("values");
    let csv = dir.path().join("values.csv");
    let mut harness = app(Lang::En);
    harness.get_by_label("+ TCP client").click();
    harness.run_steps(2);
    type_into(&mut harness, "Remote host", "127.0.0.1");
    type_into(&mut harness, "Remote port", &addr.port().to_string());
    harness.get_by_label("Decode").click();
    harness.run_steps(2);
    harness.get_by_label("modbus-tcp").click();
    harness.run_steps(2);
    harness.get_by_label("Connect").click();
    step_until(&mut harness, "connected", |h| {
        h.query_by_label_contains("Connected 127.0.0.1").is_some()
    });
    harness.get_by_label("Hex").click();
    harness.run_steps(1);
    harness.get_by_label("Data to send").click();
    harness.run_steps(1);
    harness
        .get_by_label("Data to send")
        .type_text("00 07 00 00 00 06 01 03 00 02 00 03");
    harness.run_steps(2);
    for _ in 0..2 {
        harness.get_by_label("Send").click();
        harness.run_steps(2);
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    step_until(&mut harness, "two decoded answers", |h| {
        h.query_all_by_label_contains("→ 102 103 104").count() == 2
    });
    let rows: Vec<String> = shown_texts(&harness)
        .into_iter()
        .filter(|t| t.contains("  RX  ") || t.contains("  TX  "))
        .collect();
    assert!(
        rows[0].contains("FC03 Read Holding Registers unit 1 @2 ×3  |  "),
        "{rows:#?}"
    );
    // The row's detail lists every field, with its bytes.
    harness
        .query_all_by_label_contains("→ 102 103 104")
        .next()
        .unwrap()
        .click();
    harness.run_steps(2);
    assert!(
        harness
            .query_by_label_contains("transaction_id = 7   @0+2  00 07")
            .is_some(),
        "{:#?}",
        shown_texts(&harness)
    );
    assert!(harness.query_by_label_contains("holding.4 = 104").is_some());
    // A read's answer does not carry its address: shown without bytes of its own.
    assert!(harness.query_by_label_contains("\naddress = 2\n").is_some());
    // The Values panel: each register with its latest value and count.
    for name in ["holding.2", "holding.3"] {
        harness.get_by_label(name).click();
        harness.run_steps(1);
    }
    let tab = &harness.state().tabs[0];
    let s = &tab.decoding.values.series["holding.3"];
    assert_eq!((s.latest, s.count, s.charted), (103.0, 2, true));
    // Export: only the charted fields, one row per answer.
    type_into(&mut harness, "Values CSV", csv.to_str().unwrap());
    harness.get_by_label("Export values…").scroll_to_me();
    harness.run_steps(2);
    // (Under kittest the first click after typing only ends the editing: click until the
    // worker has the job.)
    for _ in 0..3 {
        let op = &harness.state().tabs[0].decoding.export_op;
        if op.busy() || op.note.is_some() {
            break;
        }
        harness.get_by_label("Export values…").click();
        harness.run_steps(2);
    }
    step_until(&mut harness, "exported", |h| {
        h.query_by_label_contains("Exported to").is_some()
    });
    let text = std::fs::read_to_string(&csv).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines[0], "time,holding.2,holding.3");
    assert_eq!(lines.len(), 3, "{text}");
    assert!(
        lines[1].ends_with(",102,103") && lines[2].ends_with(",102,103"),
        "{text}"
    );
    harness.get_by_label("Chart…").click();
    harness.run_steps(3);
    assert!(harness.query_by_label_contains("Chart — ").is_some());
    assert!(harness
        .query_by_label("Tick fields in the Values panel to chart them")
        .is_none());
    drop(harness);
    assert_eq!(device.join().unwrap(), 2);
}
