"""The libvirt/KVM driver: connection, typed domain XML builders, designer, parsers, scan, driver.

Import ``vmhost.drivers.libvirt.driver.LibvirtDriver`` for the driver; the pure modules
(``domain_xml``, ``designer``, ``parse``, ``parse_domain``) need no libvirt daemon; ``scan``
makes the calls that read a whole host.
"""
