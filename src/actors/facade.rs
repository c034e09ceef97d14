//! FacadeActor is the one door from the Lua thread into a client's actors: it builds them,
//! forwards the Lua side's requests, and closes the Lua side's mailbox when the client ends.

use std::sync::Arc;

use actix::{Actor, ActorContext, Addr, AsyncContext, Context, Handler};

use super::client_side::ClientSide;
use super::connection::ConnectionActor;
use super::mailbox::{Mailbox, Room};
use super::messages::{Closed, Disconnect, Flush, Reply, Subscribe, TakeQueued, Unsubscribe};
use super::router::RouterActor;
use super::shared::ClientShared;
use super::v4;
use crate::error::Result;
use crate::options::ConnectOptions;

/// The actor the Lua side of one client talks to.
pub struct FacadeActor {
    /// Where the requests go.
    connection: Addr<ConnectionActor>,
    /// The mailbox the Lua side reads, closed when the client ends.
    mailbox: Arc<Mailbox>,
}

impl FacadeActor {
    /// Builds a client's actors on the current arbiter and starts connecting; `connected`
    /// gets the outcome of the first connection attempt.
    ///
    /// # Errors
    /// A TLS setting that cannot be used.
    pub fn start_client(
        opts: &ConnectOptions,
        shared: Arc<ClientShared>,
        mailbox: Arc<Mailbox>,
        connected: Reply<()>,
    ) -> Result<Addr<FacadeActor>> {
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
        let connection_addr = connection.run(ConnectionActor::new(
            Box::new(link),
            events,
            router,
            facade.address().recipient(),
            shared,
            opts.timeout,
            connected,
        ));
        Ok(facade.run(FacadeActor {
            connection: connection_addr,
            mailbox,
        }))
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

impl Handler<TakeQueued> for FacadeActor {
    type Result = ();

    /// Forwards the news that publishes are queued.
    fn handle(&mut self, msg: TakeQueued, _: &mut Context<Self>) {
        self.connection.do_send(msg);
    }
}

impl Handler<Flush> for FacadeActor {
    type Result = ();

    /// Forwards a flush.
    fn handle(&mut self, msg: Flush, _: &mut Context<Self>) {
        self.connection.do_send(msg);
    }
}

impl Handler<Subscribe> for FacadeActor {
    type Result = ();

    /// Forwards a subscription request.
    fn handle(&mut self, msg: Subscribe, _: &mut Context<Self>) {
        self.connection.do_send(msg);
    }
}

impl Handler<Unsubscribe> for FacadeActor {
    type Result = ();

    /// Forwards an unsubscription request.
    fn handle(&mut self, msg: Unsubscribe, _: &mut Context<Self>) {
        self.connection.do_send(msg);
    }
}

impl Handler<Disconnect> for FacadeActor {
    type Result = ();

    /// Forwards a request to close.
    fn handle(&mut self, msg: Disconnect, _: &mut Context<Self>) {
        self.connection.do_send(msg);
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
