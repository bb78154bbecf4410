# One job that sleeps as long as it is told, logs its start, and marks
# its end in Redis.
class SlowJob
  @queue = :default

  def self.perform(seconds, id)
    puts "slow started #{seconds} id=#{id}"
    sleep seconds.to_f
    Resque.redis.set("done:#{id}", seconds.to_s)
    puts "slow done #{seconds} id=#{id}"
  end
end

# A job that, with TERM_CHILD set, gets Resque::TermException when the
# worker is told to stop now (INT), takes `cleanup` seconds to save its
# progress, and queues itself again, as Resque's TERM_CHILD protocol asks
# a long job to do. Killed before that, it is neither done, queued nor in
# the failed list.
class CheckpointJob
  @queue = :default

  def self.perform(seconds, cleanup, id)
    puts "checkpoint started #{seconds} id=#{id}"
    sleep seconds.to_f
    Resque.redis.set("done:#{id}", seconds.to_s)
  rescue Resque::TermException
    puts "checkpoint term id=#{id}"
    sleep cleanup.to_f
    Resque.enqueue(self, seconds, cleanup, id)
    puts "checkpoint requeued id=#{id}"
  end
end
