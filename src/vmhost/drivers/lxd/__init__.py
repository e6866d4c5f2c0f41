"""The LXD driver: pylxd over HTTPS with vmhost's client certificate and a pinned server one.

``driver.LxdDriver`` implements ``vmhost.drivers.base.HostDriver``; ``instance_spec`` and
``discovery`` are the pure translations (tested without LXD); ``client`` holds the connection,
the certificate pinning and the error mapping.
"""
