"""vmhost: a VM-host manager for LXD and libvirt/KVM hosts."""

__version__ = "0.1.0"
