#ifndef BERTH_NETLINK_H
#define BERTH_NETLINK_H

/// A small rtnetlink client for the pod network (what `ip link/addr/route`
/// would do, without spawning a process per pod). Every function returns 0
/// (or a positive ifindex where said) on success and -errno on failure.
/// Addresses are dotted IPv4 strings.

/// ifindex of `name` in Berth's network namespace, or 0 when it does not exist.
int berth_nl_ifindex(const char *name);

/// Creates a bridge (EEXIST is success) and brings it up; returns its ifindex.
int berth_nl_bridge_ensure(const char *name);

/// Adds ip/prefix to an interface of Berth's namespace (EEXIST is success).
int berth_nl_addr_add(int ifindex, const char *ip, int prefix);

/// Sets an interface up.
int berth_nl_link_up(int ifindex);

/// Deletes an interface by name (ENODEV is success).
int berth_nl_link_delete(const char *name);

/// Creates a veth pair in one rtnetlink request: `host_name` stays here,
/// enslaved to `master_ifindex` and up; its peer is created directly inside
/// the network namespace `netns_fd` under `peer_name` (IFLA_NET_NS_FD), up.
int berth_nl_veth_create(const char *host_name, const char *peer_name, int netns_fd, int master_ifindex);

/// Adds a route `dst/prefix` through `oif` (scope link, preferred source
/// `src`, may be NULL) in Berth's namespace; EEXIST is success.
int berth_nl_route_add_link(const char *dst, int prefix, int oif, const char *src);

/// Deletes that route (ESRCH is success).
int berth_nl_route_del_link(const char *dst, int prefix, int oif);

/// Configures the pod side from inside the pod's network namespace: a child
/// created with clone(CLONE_VM|CLONE_VFORK) — it runs only this C code —
/// setns()es into `netns_fd`, opens its own rtnetlink socket there, adds
/// ip/prefix to `ifname`, sets it and lo up, and adds the default route via
/// `gateway`. On failure `*failed_step` names the step (static string).
int berth_nl_pod_configure(int netns_fd, const char *ifname, const char *ip, int prefix, const char *gateway,
                           const char **failed_step);

#endif
