import NIOCore

/// Runs tasks on one NIO event loop: a task that prefers it (`Task(executorPreference:)`)
/// runs on the loop that does its I/O, so that what it writes to a channel of that loop goes
/// out at once, and what the loop reads for it resumes it without waking another thread.
final class EventLoopTaskExecutor: TaskExecutor, Sendable {
    let loop: any EventLoop

    init(_ loop: any EventLoop) {
        self.loop = loop
    }

    func enqueue(_ job: consuming ExecutorJob) {
        let job = UnownedJob(job)
        loop.execute { job.runSynchronously(on: self.asUnownedTaskExecutor()) }
    }
}
