"""The Slack shell: translates Slack payloads into calls on the core service and renders
the results as Block Kit. Nothing here answers questions; ``bot.core`` does.

Modules:
  app        build_app(settings, service): the Bolt app, its Web API client and middleware
  listeners  one listener per Slack concern (mentions, DMs, assistant threads, /advisor, buttons)
  blocks     Block Kit rendering (answers, help, status, App Home, assessments, ingest reports)
  assess     /advisor assess: questions as buttons, typed replies, resume, result, share, history
  admin      /advisor ingest (progress in place), remove, policy files shared in a DM (core: service.admin)
  server     serve(settings, mode): Socket Mode or HTTP (waitress) with /healthz
"""
