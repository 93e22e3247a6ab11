//! Notifying another hub (`--websub-hub`, e.g. a hosted one) that feeds
//! changed: a POST of `hub.mode=publish` and `hub.url` per changed feed,
//! the form hubs in the PubSubHubbub tradition take (WebSub leaves
//! publishing to each hub). The hub then fetches the feed and distributes
//! it. Notifications go out one at a time from a queue of
//! [`MAX_QUEUED`]; beyond that they are dropped and counted (the hub
//! catches up on the next change).

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use url::Url;

/// Notifications waiting to be sent, at most.
pub const MAX_QUEUED: usize = 256;
/// How long the hub may take to take a notification.
pub const PUBLISH_TIMEOUT: Duration = Duration::from_secs(10);

/// What the publisher has done since start.
#[derive(Debug, Default)]
pub struct Published {
    pub sent: AtomicU64,
    pub failed: AtomicU64,
    pub dropped: AtomicU64,
}

pub struct Publisher {
    hub: Url,
    queue: tokio::sync::mpsc::Sender<String>,
    pub counts: Arc<Published>,
}

impl Publisher {
    /// A publisher to `hub`, its sender running on the current runtime.
    pub fn start(hub: Url) -> Result<Publisher, crate::fetch::FetchError> {
        // The operator named this hub: it may be on their own network.
        let client = crate::fetch::outbound_client(false)?;
        let (queue, mut rx) = tokio::sync::mpsc::channel::<String>(MAX_QUEUED);
        let counts = Arc::new(Published::default());
        let (to, c) = (hub.clone(), counts.clone());
        tokio::spawn(async move {
            while let Some(feed) = rx.recv().await {
                let form = url::form_urlencoded::Serializer::new(String::new())
                    .append_pair("hub.mode", "publish")
                    .append_pair("hub.url", &feed)
                    .finish();
                let sent = client
                    .post(to.clone())
                    .timeout(PUBLISH_TIMEOUT)
                    .header("Content-Type", "application/x-www-form-urlencoded")
                    .body(form)
                    .send()
                    .await;
                match sent {
                    Ok(r) if r.status().is_success() => {
                        c.sent.fetch_add(1, Ordering::Relaxed);
                    }
                    Ok(r) => {
                        c.failed.fetch_add(1, Ordering::Relaxed);
                        tracing::warn!(
                            "websub: the hub answered {} to the news of {feed}",
                            r.status().as_u16()
                        );
                    }
                    Err(e) => {
                        c.failed.fetch_add(1, Ordering::Relaxed);
                        tracing::warn!(
                            "websub: cannot tell the hub of {feed}: {}",
                            crate::urls::redact_urls(&e.to_string())
                        );
                    }
                }
            }
        });
        Ok(Publisher { hub, queue, counts })
    }

    /// The hub it notifies.
    pub fn hub(&self) -> &Url {
        &self.hub
    }

    /// Queues a notification per changed feed URL.
    pub fn changed(&self, feeds: impl IntoIterator<Item = String>) {
        for feed in feeds {
            if self.queue.try_send(feed).is_err() {
                self.counts.dropped.fetch_add(1, Ordering::Relaxed);
            }
        }
    }
}
