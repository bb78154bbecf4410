// Package detect recognises the worker a command line runs, for auto's
// pick of a preset. It reads three things, each the job of one file:
//
//   - the command line as started (command.go): the program, looking
//     through interpreters (python, ruby), a shell's -c string and
//     wrappers (env, nice, exec, bundle exec);
//   - a Python worker's own script (script.go): what it imports, and
//     whether it starts a worker or only enqueues jobs;
//   - the process title a running worker gave itself (title.go): nginx,
//     php-fpm, Sidekiq and Resque always rewrite /proc/PID/cmdline, and
//     Celery, RQ and gunicorn do when setproctitle is importable.
//
// Option reads a worker's own option from its command line (its
// shutdown timeout). Detection returns preset names only; which ladder
// a preset has is internal/ladder's to say.
//
// Everything here is pure: files are read only through the Files a
// caller gives, and every function is safe for concurrent use.
package detect
