"""Notifications: outbound webhooks per integration, sent when an image gets a new finding or fails a policy.

The values (:mod:`.model`), the URL rules (:mod:`.urls`), the payload formats (:mod:`.formats`), the
signature (:mod:`.signing`), what counts as new (:mod:`.changes`), the queue messages (:mod:`.messages`)
and the HTTP delivery (:mod:`.sender`) are library code; :mod:`.service` is the service that configures
endpoints and turns queue messages into deliveries. Nothing is ever sent inline: the worker and the
re-match put a notice on the ``lookout-notifications`` queue, and ``functions/notify.py`` sends it.
"""
