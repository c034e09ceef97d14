//! Connecting: the first connection (each server in turn, each within the timeout), the
//! reconnections after a backoff delay (to the next server when there are several), and what
//! a lost connection leaves to carry over to the next one.

use rumqttc::{ConnectReturnCode, ConnectionError, Event, Request};
use tokio::time::Instant;
use tracing::{info, warn};

use super::driver::Driver;
use super::link::mqtt_options;
use crate::actors::protocol::NetEvent;
use crate::error::Error;

impl Driver {
    /// One connection attempt, after the backoff delay when the last one failed: the
    /// `Connected` event, or the events a failure ends with.
    pub(super) async fn connect(&mut self) -> Vec<NetEvent> {
        if let Some(delay) = self.reconnecting.delay() {
            info!(
                delay_ms = delay.as_millis() as u64,
                attempt = self.reconnecting.failures(),
                "reconnecting after a delay"
            );
            tokio::time::sleep(delay).await;
        }
        let connected = if self.reconnecting.connected_once() {
            self.engine.connect().await.map_err(|e| e.to_string())
        } else {
            match self.first_connect().await {
                Ok(event) => Ok(event),
                Err(e) => {
                    self.reconnecting.end();
                    return vec![NetEvent::Failed(e)];
                }
            }
        };
        match connected {
            Ok(event) => self.translate(event).into_iter().collect(),
            Err(why) => self.lost(why),
        }
    }

    /// Points the event loop at the next server.
    pub(super) fn next_server(&mut self) {
        if let Some(server) = self.reconnecting.next_server() {
            match mqtt_options(&self.opts, server) {
                Ok(options) => {
                    self.engine.set_options(options);
                    self.addr = server.addr();
                    self.span
                        .record("broker", tracing::field::display(&self.addr));
                }
                Err(e) => {
                    warn!(client_id = %self.client_id, broker = %server.addr(), error = %e, "server skipped")
                }
            }
        }
    }

    /// The first connection: each server in turn, each within the timeout.
    pub(super) async fn first_connect(&mut self) -> Result<Event, Error> {
        let mut failures = Vec::new();
        for _ in 0..self.reconnecting.servers() {
            match self.connect_once().await {
                Ok(event) => return Ok(event),
                Err(e) if self.reconnecting.servers() == 1 => return Err(e),
                Err(e) => {
                    warn!(client_id = %self.client_id, broker = %self.addr, error = %e, "server unavailable; trying the next");
                    failures.push(e.to_string());
                    self.next_server();
                }
            }
        }
        Err(Error::NoServer(failures.join("; ")))
    }

    /// One connection attempt: a name lookup, then TCP and CONNACK, within the timeout.
    pub(super) async fn connect_once(&mut self) -> Result<Event, Error> {
        let server = self.reconnecting.server();
        let (host, port, tls) = (server.host.clone(), server.port, server.tls);
        let deadline = Instant::now() + self.timeout;
        let timed_out = || Error::ConnectTimeout {
            addr: self.addr.clone(),
            secs: self.timeout.as_secs_f64(),
        };
        let lookup = tokio::net::lookup_host((host.as_str(), port));
        match tokio::time::timeout_at(deadline, lookup).await {
            Err(_) => return Err(timed_out()),
            Ok(Err(e)) => {
                return Err(Error::UnknownHost {
                    host: host.clone(),
                    why: e.to_string(),
                })
            }
            Ok(Ok(_)) => {}
        }
        match tokio::time::timeout_at(deadline, self.engine.connect()).await {
            Err(_) | Ok(Err(ConnectionError::NetworkTimeout)) => Err(timed_out()),
            Ok(Ok(event)) => Ok(event),
            Ok(Err(ConnectionError::ConnectionRefused(code))) => Err(Error::Refused {
                addr: self.addr.clone(),
                reason: refusal(code),
            }),
            Ok(Err(ConnectionError::Io(e)))
                if e.kind() == std::io::ErrorKind::ConnectionRefused =>
            {
                Err(Error::Unreachable {
                    addr: self.addr.clone(),
                    why: "connection refused (is a broker listening there?)".into(),
                })
            }
            Ok(Err(e @ ConnectionError::Tls(_))) => Err(Error::Unreachable {
                addr: self.addr.clone(),
                why: crate::tls::explain(&e.to_string()),
            }),
            // A TLS alert after the handshake (a client certificate refused) or a WebSocket's
            // TLS failure comes wrapped in another error.
            Ok(Err(e)) if tls && crate::tls::is_tls_failure(&e.to_string()) => {
                Err(Error::Unreachable {
                    addr: self.addr.clone(),
                    why: crate::tls::explain(&e.to_string()),
                })
            }
            Ok(Err(e)) => Err(Error::Unreachable {
                addr: self.addr.clone(),
                why: e.to_string(),
            }),
        }
    }

    /// The connection is gone (or an attempt failed): take back what rumqttc would replay
    /// or drop, and decide whether to try again. Returns the events rumqttc had parsed or
    /// queued before the failure (a message read in the last read, a SUBSCRIBE it began to
    /// write), then `Failed`: left for later, they would come after the reconnect and be
    /// taken for events of the new connection.
    pub(super) fn lost(&mut self, why: String) -> Vec<NetEvent> {
        let mut events = Vec::new();
        self.drain_events(&mut events);
        {
            // Acknowledgements not written belong to the lost connection: they are answered
            // again when the broker re-delivers their messages.
            let mut out = self.sending.borrow_mut();
            self.unwritten_acks = self.unwritten_acks.saturating_sub(out.acks.len());
            out.acks.clear();
            out.disconnected();
        }
        self.pacing.answered();
        for request in self.engine.take_pending() {
            match request {
                Request::Publish(mut p) => {
                    // A numbered publish went out before: its next copy is a re-delivery.
                    p.dup = p.pkid != 0;
                    self.carried.push(p);
                }
                Request::PubRel(r) => self.carried_rels.push(r),
                r @ (Request::Subscribe(_) | Request::Unsubscribe(_)) => {
                    self.carried_requests.push(r);
                }
                // Pings belong to the lost connection; a DISCONNECT has nothing left to end.
                _ => {}
            }
        }
        let again = self.reconnecting.lost();
        if again {
            warn!(client_id = %self.client_id, broker = %self.addr, error = %why, attempt = self.reconnecting.failures(), "connection lost; reconnecting");
        } else {
            warn!(client_id = %self.client_id, broker = %self.addr, error = %why, "connection lost; not reconnecting");
        }
        self.next_server();
        events.push(NetEvent::Failed(Error::LinkLost(why)));
        events
    }
}

/// The name of a CONNACK refusal.
pub fn refusal(code: ConnectReturnCode) -> &'static str {
    match code {
        ConnectReturnCode::RefusedProtocolVersion => "unacceptable protocol version",
        ConnectReturnCode::BadClientId => "identifier rejected",
        ConnectReturnCode::ServiceUnavailable => "server unavailable",
        ConnectReturnCode::BadUserNamePassword => "bad user name or password",
        ConnectReturnCode::NotAuthorized => "not authorised",
        ConnectReturnCode::Success => "accepted",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::actors::messages::AckToken;
    use crate::options::QoS;
    use rumqttc::{Incoming, Outgoing as Out, SubAck, SubscribeReasonCode};

    #[test]
    fn events_parsed_before_a_loss_are_reported_before_it() {
        let mut d = Driver::unconnected();
        d.engine
            .record(Event::Incoming(Incoming::SubAck(SubAck::new(
                3,
                vec![SubscribeReasonCode::Success(rumqttc::QoS::AtLeastOnce)],
            ))));
        d.engine.record(Event::Outgoing(Out::Subscribe(4)));
        let reported = d.lost("reset".into());
        assert!(
            matches!(
                &reported[..],
                [
                    NetEvent::SubAck { pkid: 3, .. },
                    NetEvent::SubscribeSent { pkid: 4 },
                    NetEvent::Failed(_)
                ]
            ),
            "{reported:?}"
        );
        assert_eq!(d.engine.events(), 0);
    }

    #[test]
    fn a_lost_connection_forgets_the_acknowledgements_not_written() {
        let mut d = Driver::unconnected();
        // Three acknowledgements asked for: two back from the router and not written, one
        // still with the router.
        d.unwritten_acks = 3;
        for pkid in [7, 8] {
            d.sending.borrow_mut().acks.push_back(AckToken {
                pkid,
                qos: QoS::AtLeastOnce,
            });
        }
        d.lost("reset".into());
        assert_eq!(d.unwritten_acks, 1);
        assert!(d.sending.borrow().acks.is_empty());
    }

    #[test]
    fn every_connack_refusal_has_a_name() {
        let cases = [
            (
                ConnectReturnCode::RefusedProtocolVersion,
                "unacceptable protocol version",
            ),
            (ConnectReturnCode::BadClientId, "identifier rejected"),
            (ConnectReturnCode::ServiceUnavailable, "server unavailable"),
            (
                ConnectReturnCode::BadUserNamePassword,
                "bad user name or password",
            ),
            (ConnectReturnCode::NotAuthorized, "not authorised"),
        ];
        for (code, name) in cases {
            assert_eq!(refusal(code), name);
        }
    }
}
