//! What one client, or all of them, may hold at once: connections in all and per client
//! address, and handlers that stream a body. Each count is checked against the current
//! configuration whenever a slot is taken, so a reload applies to the next one.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::{Arc, Mutex};

use tokio::sync::Notify;

/// A count with a ceiling that callers wait below: a connection over `max_connections`
/// waits in the listen backlog; a stream over `max_streams` waits without a thread.
#[derive(Default)]
pub struct Gate {
    taken: Mutex<usize>,
    freed: Notify,
}

/// One slot of a `Gate`, given back when dropped.
pub struct Slot {
    gate: Arc<Gate>,
}

impl Gate {
    /// Takes a slot once fewer than `max` are taken (0: no ceiling).
    pub async fn enter(self: &Arc<Self>, max: usize) -> Slot {
        loop {
            // Registered before the check, so a slot freed in between still wakes us.
            let freed = self.freed.notified();
            {
                let mut taken = lock(&self.taken);
                if max == 0 || *taken < max {
                    *taken += 1;
                    return Slot { gate: self.clone() };
                }
            }
            freed.await;
        }
    }

    #[cfg(test)]
    fn taken(&self) -> usize {
        *lock(&self.taken)
    }
}

impl Drop for Slot {
    fn drop(&mut self) {
        *lock(&self.gate.taken) -= 1;
        self.gate.freed.notify_one();
    }
}

/// Connections per client address.
#[derive(Default)]
pub struct Clients {
    open: Mutex<HashMap<IpAddr, usize>>,
}

/// One connection of one client, given back when dropped.
pub struct ClientSlot {
    clients: Arc<Clients>,
    ip: IpAddr,
}

impl Clients {
    /// A slot for `ip` if it holds fewer than `max` connections (0: no ceiling); none
    /// means the connection is closed at once.
    pub fn admit(self: &Arc<Self>, ip: IpAddr, max: usize) -> Option<ClientSlot> {
        let mut open = lock(&self.open);
        let n = open.entry(ip).or_insert(0);
        if max != 0 && *n >= max {
            return None;
        }
        *n += 1;
        Some(ClientSlot {
            clients: self.clone(),
            ip,
        })
    }
}

impl Drop for ClientSlot {
    fn drop(&mut self) {
        let mut open = lock(&self.clients.open);
        if let Some(n) = open.get_mut(&self.ip) {
            *n -= 1;
            if *n == 0 {
                open.remove(&self.ip);
            }
        }
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[tokio::test]
    async fn a_gate_waits_below_its_ceiling_and_opens_when_a_slot_is_freed() {
        let gate = Arc::new(Gate::default());
        let a = gate.enter(2).await;
        let _b = gate.enter(2).await;
        let waiting = tokio::time::timeout(Duration::from_millis(50), gate.enter(2)).await;
        assert!(waiting.is_err(), "a third slot under a ceiling of two");
        let third = tokio::spawn({
            let gate = gate.clone();
            async move { gate.enter(2).await }
        });
        drop(a);
        let _c = tokio::time::timeout(Duration::from_secs(5), third)
            .await
            .expect("freed slot wakes the waiter")
            .unwrap();
        assert_eq!(gate.taken(), 2);
        // A ceiling raised by a reload lets the next one in at once.
        let _d = gate.enter(3).await;
        assert_eq!(gate.taken(), 3);
        assert_eq!(Arc::new(Gate::default()).enter(0).await.gate.taken(), 1);
    }

    #[test]
    fn each_client_address_is_counted_apart() {
        let clients = Arc::new(Clients::default());
        let one: IpAddr = "10.0.0.1".parse().unwrap();
        let two: IpAddr = "10.0.0.2".parse().unwrap();
        let a = clients.admit(one, 2).unwrap();
        let b = clients.admit(one, 2).unwrap();
        assert!(clients.admit(one, 2).is_none());
        assert!(clients.admit(two, 2).is_some());
        drop(a);
        assert!(clients.admit(one, 2).is_some());
        assert!(clients.admit(one, 0).is_some(), "0 is no ceiling");
        drop(b);
    }
}
