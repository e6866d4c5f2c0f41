"""The libvirt/KVM driver: connection, typed domain XML builders, designer, discovery, driver.

Import ``vmhost.drivers.libvirt.driver.LibvirtDriver`` for the driver; the pure modules
(``domain_xml``, ``designer``, ``discovery`` parsers) need no libvirt daemon.
"""
