//! The system's serial ports, listed on a thread the tab owns (listing reads the system's
//! device tables: never on the window's thread).

use crate::engine::serial::{list_ports, port_present, PortInfo};
use std::sync::mpsc;
use std::thread::JoinHandle;

/// The last list, and a listing under way.
#[derive(Default)]
pub struct PortList {
    pub ports: Vec<PortInfo>,
    /// When the last listing was asked for (the list follows ports coming and going).
    pub listed_at: Option<std::time::Instant>,
    /// The port watched for (a vanished port to reopen), and whether the last listing found it.
    pub found: Option<(String, bool)>,
    running: Option<(JoinHandle<()>, mpsc::Receiver<Listing>)>,
}

/// A listing, and whether the watched port was in it.
type Listing = (Vec<PortInfo>, Option<(String, bool)>);

impl PortList {
    /// Is a listing under way?
    pub fn busy(&self) -> bool {
        self.running.is_some()
    }

    /// Lists the ports again (unless a listing is under way).
    pub fn refresh(&mut self) {
        self.list(None);
    }

    /// Lists the ports and looks for `port` (a vanished port the tab waits for).
    pub fn look_for(&mut self, port: &str) {
        self.list(Some(port.to_string()));
    }

    /// Lists again when the last listing is older than `every` (ports plugged in or pulled
    /// show up by themselves while the tab is drawn).
    pub fn refresh_every(&mut self, every: std::time::Duration) {
        if self.listed_at.is_none_or(|at| at.elapsed() >= every) {
            self.refresh();
        }
    }

    fn list(&mut self, watch: Option<String>) {
        self.listed_at = Some(std::time::Instant::now());
        if self.running.is_some() {
            return;
        }
        // One answer.
        #[allow(clippy::disallowed_methods)]
        let (tx, rx) = mpsc::channel();
        if let Ok(thread) = std::thread::Builder::new()
            .name("sockscope-ports".into())
            .spawn(move || {
                let ports = list_ports().unwrap_or_default();
                let found = watch.map(|w| {
                    let here = port_present(&w, &ports);
                    (w, here)
                });
                let _ = tx.send((ports, found));
            })
        {
            self.running = Some((thread, rx));
        }
    }

    /// Takes a finished listing.
    pub fn poll(&mut self) {
        let done = self.running.as_ref().and_then(|(_, rx)| rx.try_recv().ok());
        if let Some((ports, found)) = done {
            self.ports = ports;
            self.found = found;
            if let Some((thread, _)) = self.running.take() {
                let _ = thread.join();
            }
        }
    }
}

impl Drop for PortList {
    /// A listing takes moments: it is waited for.
    fn drop(&mut self) {
        if let Some((thread, _)) = self.running.take() {
            let _ = thread.join();
        }
    }
}
