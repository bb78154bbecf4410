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
