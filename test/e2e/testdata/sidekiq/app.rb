# A Sidekiq application for supervise's tests: one job that sleeps as
# long as it is told, logs its start, and marks its end in Redis.
require "sidekiq"

# Debian's redis-rb 4.8 warns at every call Sidekiq 6.4 makes the old way.
Redis.silence_deprecations = true if Redis.respond_to?(:silence_deprecations=)

Sidekiq.configure_server { |c| c.redis = { url: ENV.fetch("REDIS_URL") } }
Sidekiq.configure_client { |c| c.redis = { url: ENV.fetch("REDIS_URL") } }

class SlowJob
  include Sidekiq::Worker
  sidekiq_options retry: false

  def perform(seconds)
    logger.info "slow started #{seconds} jid=#{jid}"
    sleep seconds.to_f
    Sidekiq.redis { |r| r.set("done:#{jid}", seconds.to_s) }
    logger.info "slow done #{seconds} jid=#{jid}"
  end
end
