//! Bounded channels whose depth is exported as `pipeline_channel_depth{channel}`.

use metrics_schema::CommonMetrics;
use metrics_schema::labels::Channel;
use metrics_schema::register::GaugeF;
use metrics_schema::services::common::ChannelLabels;
use std::time::Duration;
use tokio::sync::mpsc;
use tokio::time::MissedTickBehavior;

pub struct MeteredSender<T> {
    tx: mpsc::Sender<T>,
    depth: GaugeF,
}

impl<T> Clone for MeteredSender<T> {
    fn clone(&self) -> Self {
        MeteredSender {
            tx: self.tx.clone(),
            depth: self.depth.clone(),
        }
    }
}

pub struct MeteredReceiver<T> {
    rx: mpsc::Receiver<T>,
    depth: GaugeF,
}

/// A bounded mpsc channel; its capacity and live depth are exported.
pub fn bounded<T>(
    capacity: usize,
    channel: Channel,
    metrics: &CommonMetrics,
) -> (MeteredSender<T>, MeteredReceiver<T>) {
    let (tx, rx) = mpsc::channel(capacity.max(1));
    let labels = ChannelLabels { channel };
    metrics
        .channel_capacity
        .get_or_create(&labels)
        .set(capacity.max(1) as f64);
    let depth = metrics.channel_depth.get_or_create(&labels).clone();
    depth.set(0.0);
    (
        MeteredSender {
            tx,
            depth: depth.clone(),
        },
        MeteredReceiver { rx, depth },
    )
}

/// Exports the capacity and the depth (sampled every `every`) of a plain tokio channel whose ends
/// go to code that takes `mpsc::Sender`/`Receiver` directly (e.g. the Kinesis producer and
/// consumer). The sampler holds only a weak sender and stops once every sender is gone.
pub fn export_depth<T: Send + 'static>(
    tx: &mpsc::Sender<T>,
    channel: Channel,
    metrics: &CommonMetrics,
    every: Duration,
) -> tokio::task::JoinHandle<()> {
    let labels = ChannelLabels { channel };
    metrics
        .channel_capacity
        .get_or_create(&labels)
        .set(tx.max_capacity() as f64);
    let depth = metrics.channel_depth.get_or_create(&labels).clone();
    depth.set((tx.max_capacity() - tx.capacity()) as f64);
    let weak = tx.downgrade();
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(every);
        tick.set_missed_tick_behavior(MissedTickBehavior::Skip);
        loop {
            tick.tick().await;
            let Some(tx) = weak.upgrade() else { break };
            depth.set((tx.max_capacity() - tx.capacity()) as f64);
        }
    })
}

impl<T> MeteredSender<T> {
    /// Wait for room (backpressure), then send. Errors only when the receiver is gone.
    pub async fn send(&self, v: T) -> Result<(), mpsc::error::SendError<T>> {
        self.tx.send(v).await?;
        self.depth.set(self.len() as f64);
        Ok(())
    }

    /// Send without waiting; hands the value back when the channel is full or closed.
    pub fn try_send(&self, v: T) -> Result<(), mpsc::error::TrySendError<T>> {
        self.tx.try_send(v)?;
        self.depth.set(self.len() as f64);
        Ok(())
    }

    /// Messages queued now.
    pub fn len(&self) -> usize {
        self.tx.max_capacity() - self.tx.capacity()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

impl<T> MeteredReceiver<T> {
    pub async fn recv(&mut self) -> Option<T> {
        let v = self.rx.recv().await;
        self.depth.set(self.rx.len() as f64);
        v
    }

    pub fn try_recv(&mut self) -> Result<T, mpsc::error::TryRecvError> {
        let v = self.rx.try_recv();
        self.depth.set(self.rx.len() as f64);
        v
    }

    pub fn len(&self) -> usize {
        self.rx.len()
    }

    pub fn is_empty(&self) -> bool {
        self.rx.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use prometheus_client::registry::Registry;

    #[tokio::test]
    async fn depth_gauge_follows_sends_and_receives_and_full_channel_refuses() {
        let mut reg = Registry::default();
        let m = CommonMetrics::register(&mut reg);
        let (tx, mut rx) = bounded::<u32>(2, Channel::Events, &m);
        let g = m
            .channel_depth
            .get_or_create(&ChannelLabels {
                channel: Channel::Events,
            })
            .clone();
        tx.send(1).await.unwrap();
        tx.send(2).await.unwrap();
        assert_eq!(g.get(), 2.0);
        assert!(matches!(tx.try_send(3), Err(mpsc::error::TrySendError::Full(3))));
        assert_eq!(rx.recv().await, Some(1));
        assert_eq!(g.get(), 1.0);
        let exposition = metrics_schema::encode(&reg);
        assert!(
            exposition.contains("pipeline_channel_capacity{channel=\"events\"} 2"),
            "{exposition}"
        );
    }

    #[tokio::test]
    async fn export_depth_samples_a_plain_channel_and_stops_with_its_senders() {
        let mut reg = Registry::default();
        let m = CommonMetrics::register(&mut reg);
        let (tx, mut rx) = mpsc::channel::<u32>(8);
        let sampler = export_depth(&tx, Channel::Records, &m, Duration::from_millis(5));
        let labels = ChannelLabels {
            channel: Channel::Records,
        };
        assert_eq!(m.channel_capacity.get_or_create(&labels).get(), 8.0);
        // Polled with a deadline: the sampler runs every 5 ms, but a loaded machine may delay it.
        let depth_becomes = |want: f64| {
            let gauge = m.channel_depth.get_or_create(&labels).clone();
            async move {
                let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
                while gauge.get() != want {
                    assert!(
                        tokio::time::Instant::now() < deadline,
                        "depth {} never became {want}",
                        gauge.get()
                    );
                    tokio::time::sleep(Duration::from_millis(5)).await;
                }
            }
        };
        for i in 0..3 {
            tx.send(i).await.unwrap();
        }
        depth_becomes(3.0).await;
        rx.recv().await.unwrap();
        depth_becomes(2.0).await;
        drop(tx);
        tokio::time::timeout(Duration::from_secs(2), sampler)
            .await
            .expect("the sampler stops once the senders are gone")
            .unwrap();
    }
}
