//! FacadeActor stands for the Lua side among a client's actors: it builds them, hands the Lua
//! side the connection's address (its requests go there in one move), and, however the
//! client ends, closes the mailbox the Lua side reads so that no reader waits in vain.

use std::sync::Arc;

use actix::{Actor, ActorContext, Addr, AsyncContext, Context, Handler};

use super::client_side::ClientSide;
use super::connection::ConnectionActor;
use super::mailbox::{Mailbox, Room};
use super::messages::{Closed, Reply};
use super::router::RouterActor;
use super::shared::ClientShared;
use super::v4;
use crate::error::Result;
use crate::options::ConnectOptions;

/// The Lua side of one client, among its actors.
pub struct FacadeActor {
    /// The mailbox the Lua side reads, closed when the client ends.
    mailbox: Arc<Mailbox>,
}

impl FacadeActor {
    /// Builds a client's actors on the current arbiter and starts connecting; `connected`
    /// gets the outcome of the first connection attempt. Returns the connection, where the
    /// Lua side's requests go.
    ///
    /// # Errors
    /// A TLS setting that cannot be used.
    pub fn start_client(
        opts: &ConnectOptions,
        shared: Arc<ClientShared>,
        mailbox: Arc<Mailbox>,
        connected: Reply<()>,
    ) -> Result<Addr<ConnectionActor>> {
        let (link, events) = v4::open(
            opts,
            Room::new(mailbox.clone()),
            ClientSide::new(shared.clone()),
        )?;
        let facade = Context::<FacadeActor>::new();
        let connection = Context::<ConnectionActor>::new();
        let router = RouterActor::new(
            mailbox.clone(),
            connection.address().recipient(),
            opts.client_id.clone(),
        )
        .start();
        // Kept alive by the connection's hold on it, which tells it when the client ends.
        let ended = facade.address().recipient();
        facade.run(FacadeActor {
            mailbox: mailbox.clone(),
        });
        Ok(connection.run(ConnectionActor::new(
            Box::new(link),
            events,
            router,
            ended,
            shared,
            opts.timeout,
            connected,
        )))
    }
}

impl Actor for FacadeActor {
    type Context = Context<Self>;
}

impl Drop for FacadeActor {
    /// However the actor ends, no reader waits on the mailbox in vain.
    fn drop(&mut self) {
        self.mailbox.close();
    }
}

impl Handler<Closed> for FacadeActor {
    type Result = ();

    /// The client has ended: wake the Lua side and stop.
    fn handle(&mut self, _: Closed, ctx: &mut Context<Self>) {
        self.mailbox.close();
        ctx.stop();
    }
}
