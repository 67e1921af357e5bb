// rtnetlink for the pod network: bridge, veth pairs (peer created in the pod's
// netns through IFLA_NET_NS_FD), addresses, routes, link deletion.
//
// No heap, no stdio: pod-side configuration runs in a clone(CLONE_VM) child
// that may only make raw syscalls (DESIGN's fork rule), so every helper here
// builds its messages in stack buffers.
#define _GNU_SOURCE
#include "berth_netlink.h"

#include <arpa/inet.h>
#include <errno.h>
#include <linux/if_link.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <linux/veth.h>
#include <net/if.h>
#include <sched.h>
#include <signal.h>
#include <stdint.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

// MARK: - Message building

struct nlbuf {
    struct nlmsghdr n;
    char data[2048];
};

static struct rtattr *nl_tail(struct nlmsghdr *n) {
    return (struct rtattr *)((char *)n + NLMSG_ALIGN(n->nlmsg_len));
}

static int nl_attr(struct nlmsghdr *n, int type, const void *data, int len) {
    int rtlen = RTA_LENGTH(len);
    if (NLMSG_ALIGN(n->nlmsg_len) + RTA_ALIGN(rtlen) > sizeof(struct nlbuf)) return -EMSGSIZE;
    struct rtattr *rta = nl_tail(n);
    rta->rta_type = (unsigned short)type;
    rta->rta_len = (unsigned short)rtlen;
    if (len) memcpy(RTA_DATA(rta), data, (size_t)len);
    n->nlmsg_len = NLMSG_ALIGN(n->nlmsg_len) + RTA_ALIGN(rtlen);
    return 0;
}

static int nl_attr_str(struct nlmsghdr *n, int type, const char *s) {
    return nl_attr(n, type, s, (int)strlen(s) + 1);
}

static int nl_attr_u32(struct nlmsghdr *n, int type, uint32_t v) { return nl_attr(n, type, &v, 4); }

static struct rtattr *nl_nest(struct nlmsghdr *n, int type) {
    struct rtattr *start = nl_tail(n);
    nl_attr(n, type, NULL, 0);
    return start;
}

static void nl_nest_end(struct nlmsghdr *n, struct rtattr *start) {
    start->rta_len = (unsigned short)((char *)nl_tail(n) - (char *)start);
}

static void nl_init(struct nlbuf *b, int type, int flags, size_t payload) {
    memset(b, 0, sizeof(*b));
    b->n.nlmsg_len = (uint32_t)NLMSG_LENGTH(payload);
    b->n.nlmsg_type = (uint16_t)type;
    b->n.nlmsg_flags = (uint16_t)(NLM_F_REQUEST | NLM_F_ACK | flags);
    b->n.nlmsg_seq = 1;
}

static int nl_open(void) {
    int fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE);
    if (fd < 0) return -errno;
    struct sockaddr_nl sa;
    memset(&sa, 0, sizeof(sa));
    sa.nl_family = AF_NETLINK;
    if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
        int e = errno;
        close(fd);
        return -e;
    }
    return fd;
}

/// Sends one request and waits for its ack; returns 0 or -errno from the kernel.
static int nl_talk_fd(int fd, struct nlmsghdr *n) {
    struct sockaddr_nl sa;
    memset(&sa, 0, sizeof(sa));
    sa.nl_family = AF_NETLINK;
    if (sendto(fd, n, n->nlmsg_len, 0, (struct sockaddr *)&sa, sizeof(sa)) < 0) return -errno;
    char buf[4096] __attribute__((aligned(4)));
    for (;;) {
        ssize_t len = recv(fd, buf, sizeof(buf), 0);
        if (len < 0) {
            if (errno == EINTR) continue;
            return -errno;
        }
        for (struct nlmsghdr *h = (struct nlmsghdr *)buf; NLMSG_OK(h, (unsigned)len); h = NLMSG_NEXT(h, len)) {
            if (h->nlmsg_seq != n->nlmsg_seq) continue;
            if (h->nlmsg_type == NLMSG_ERROR) {
                struct nlmsgerr *e = (struct nlmsgerr *)NLMSG_DATA(h);
                return e->error; // 0 is the ack
            }
        }
    }
}

static int nl_talk(struct nlmsghdr *n) {
    int fd = nl_open();
    if (fd < 0) return fd;
    int r = nl_talk_fd(fd, n);
    close(fd);
    return r;
}

static int parse_ip(const char *ip, uint32_t *out) {
    struct in_addr a;
    if (inet_pton(AF_INET, ip, &a) != 1) return -EINVAL;
    *out = a.s_addr;
    return 0;
}

static int ifindex_ioctl(const char *name) {
    int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (s < 0) return -errno;
    struct ifreq ifr;
    memset(&ifr, 0, sizeof(ifr));
    size_t l = strlen(name);
    if (l >= IFNAMSIZ) { close(s); return -ENAMETOOLONG; }
    memcpy(ifr.ifr_name, name, l);
    int r = ioctl(s, SIOCGIFINDEX, &ifr);
    int e = errno;
    close(s);
    if (r < 0) return e == ENODEV ? 0 : -e;
    return ifr.ifr_ifindex;
}

// MARK: - Requests (fd = an rtnetlink socket in the namespace to change)

static int req_link_up(int fd, int ifindex) {
    struct nlbuf b;
    nl_init(&b, RTM_NEWLINK, 0, sizeof(struct ifinfomsg));
    struct ifinfomsg *ifi = NLMSG_DATA(&b.n);
    ifi->ifi_family = AF_UNSPEC;
    ifi->ifi_index = ifindex;
    ifi->ifi_flags = IFF_UP;
    ifi->ifi_change = IFF_UP;
    return nl_talk_fd(fd, &b.n);
}

static int req_addr_add(int fd, int ifindex, const char *ip, int prefix) {
    uint32_t addr;
    if (parse_ip(ip, &addr) < 0) return -EINVAL;
    struct nlbuf b;
    nl_init(&b, RTM_NEWADDR, NLM_F_CREATE | NLM_F_EXCL, sizeof(struct ifaddrmsg));
    struct ifaddrmsg *ifa = NLMSG_DATA(&b.n);
    ifa->ifa_family = AF_INET;
    ifa->ifa_prefixlen = (unsigned char)prefix;
    ifa->ifa_index = (unsigned)ifindex;
    ifa->ifa_scope = RT_SCOPE_UNIVERSE;
    nl_attr(&b.n, IFA_LOCAL, &addr, 4);
    nl_attr(&b.n, IFA_ADDRESS, &addr, 4);
    if (prefix < 31) {
        uint32_t mask = prefix == 0 ? 0 : htonl(~((1u << (32 - prefix)) - 1));
        uint32_t brd = addr | ~mask;
        nl_attr(&b.n, IFA_BROADCAST, &brd, 4);
    }
    int r = nl_talk_fd(fd, &b.n);
    return r == -EEXIST ? 0 : r;
}

static int req_route(int fd, int add, const char *dst, int prefix, int oif, const char *gateway, const char *src) {
    struct nlbuf b;
    nl_init(&b, add ? RTM_NEWROUTE : RTM_DELROUTE, add ? (NLM_F_CREATE | NLM_F_EXCL) : 0, sizeof(struct rtmsg));
    struct rtmsg *rt = NLMSG_DATA(&b.n);
    rt->rtm_family = AF_INET;
    rt->rtm_dst_len = (unsigned char)prefix;
    rt->rtm_table = RT_TABLE_MAIN;
    rt->rtm_protocol = RTPROT_BOOT;
    rt->rtm_scope = gateway ? RT_SCOPE_UNIVERSE : RT_SCOPE_LINK;
    rt->rtm_type = RTN_UNICAST;
    uint32_t a;
    if (dst && prefix > 0) {
        if (parse_ip(dst, &a) < 0) return -EINVAL;
        nl_attr(&b.n, RTA_DST, &a, 4);
    }
    if (gateway) {
        if (parse_ip(gateway, &a) < 0) return -EINVAL;
        nl_attr(&b.n, RTA_GATEWAY, &a, 4);
    }
    if (src) {
        if (parse_ip(src, &a) < 0) return -EINVAL;
        nl_attr(&b.n, RTA_PREFSRC, &a, 4);
    }
    nl_attr_u32(&b.n, RTA_OIF, (uint32_t)oif);
    int r = nl_talk_fd(fd, &b.n);
    if (add && r == -EEXIST) return 0;
    if (!add && r == -ESRCH) return 0;
    return r;
}

// MARK: - Berth's namespace

int berth_nl_ifindex(const char *name) { return ifindex_ioctl(name); }

int berth_nl_bridge_ensure(const char *name) {
    if (strlen(name) >= IFNAMSIZ) return -ENAMETOOLONG;
    struct nlbuf b;
    nl_init(&b, RTM_NEWLINK, NLM_F_CREATE | NLM_F_EXCL, sizeof(struct ifinfomsg));
    struct ifinfomsg *ifi = NLMSG_DATA(&b.n);
    ifi->ifi_family = AF_UNSPEC;
    nl_attr_str(&b.n, IFLA_IFNAME, name);
    struct rtattr *info = nl_nest(&b.n, IFLA_LINKINFO);
    nl_attr_str(&b.n, IFLA_INFO_KIND, "bridge");
    nl_nest_end(&b.n, info);
    int r = nl_talk(&b.n);
    if (r < 0 && r != -EEXIST) return r;
    int idx = ifindex_ioctl(name);
    if (idx <= 0) return idx == 0 ? -ENODEV : idx;
    r = berth_nl_link_up(idx);
    return r < 0 ? r : idx;
}

int berth_nl_link_up(int ifindex) {
    int fd = nl_open();
    if (fd < 0) return fd;
    int r = req_link_up(fd, ifindex);
    close(fd);
    return r;
}

int berth_nl_addr_add(int ifindex, const char *ip, int prefix) {
    int fd = nl_open();
    if (fd < 0) return fd;
    int r = req_addr_add(fd, ifindex, ip, prefix);
    close(fd);
    return r;
}

int berth_nl_link_delete(const char *name) {
    if (strlen(name) >= IFNAMSIZ) return -ENAMETOOLONG;
    struct nlbuf b;
    nl_init(&b, RTM_DELLINK, 0, sizeof(struct ifinfomsg));
    struct ifinfomsg *ifi = NLMSG_DATA(&b.n);
    ifi->ifi_family = AF_UNSPEC;
    nl_attr_str(&b.n, IFLA_IFNAME, name);
    int r = nl_talk(&b.n);
    return r == -ENODEV ? 0 : r;
}

int berth_nl_veth_create(const char *host_name, const char *peer_name, int netns_fd, int master_ifindex) {
    if (strlen(host_name) >= IFNAMSIZ || strlen(peer_name) >= IFNAMSIZ) return -ENAMETOOLONG;
    struct nlbuf b;
    nl_init(&b, RTM_NEWLINK, NLM_F_CREATE | NLM_F_EXCL, sizeof(struct ifinfomsg));
    struct ifinfomsg *ifi = NLMSG_DATA(&b.n);
    ifi->ifi_family = AF_UNSPEC;
    ifi->ifi_flags = IFF_UP;
    ifi->ifi_change = IFF_UP;
    nl_attr_str(&b.n, IFLA_IFNAME, host_name);
    if (master_ifindex > 0) nl_attr_u32(&b.n, IFLA_MASTER, (uint32_t)master_ifindex);
    struct rtattr *info = nl_nest(&b.n, IFLA_LINKINFO);
    nl_attr_str(&b.n, IFLA_INFO_KIND, "veth");
    struct rtattr *data = nl_nest(&b.n, IFLA_INFO_DATA);
    struct rtattr *peer = nl_nest(&b.n, VETH_INFO_PEER);
    // The peer's own ifinfomsg, then its attributes.
    struct ifinfomsg pifi;
    memset(&pifi, 0, sizeof(pifi));
    pifi.ifi_family = AF_UNSPEC; // brought up from inside the pod (an IFF_UP here fails with ENOTCONN)
    memcpy(nl_tail(&b.n), &pifi, sizeof(pifi));
    b.n.nlmsg_len += NLMSG_ALIGN(sizeof(pifi));
    nl_attr_str(&b.n, IFLA_IFNAME, peer_name);
    if (netns_fd >= 0) nl_attr_u32(&b.n, IFLA_NET_NS_FD, (uint32_t)netns_fd);
    nl_nest_end(&b.n, peer);
    nl_nest_end(&b.n, data);
    nl_nest_end(&b.n, info);
    return nl_talk(&b.n);
}

int berth_nl_route_add_link(const char *dst, int prefix, int oif, const char *src) {
    int fd = nl_open();
    if (fd < 0) return fd;
    int r = req_route(fd, 1, dst, prefix, oif, NULL, src);
    close(fd);
    return r;
}

int berth_nl_route_del_link(const char *dst, int prefix, int oif) {
    int fd = nl_open();
    if (fd < 0) return fd;
    int r = req_route(fd, 0, dst, prefix, oif, NULL, NULL);
    close(fd);
    return r;
}

// MARK: - Inside the pod's namespace

struct pod_args {
    int netns_fd;
    const char *ifname, *ip, *gateway;
    int prefix;
    int error;
    const char *step;
};

/// Runs in the clone(CLONE_VM|CLONE_VFORK) child: raw syscalls only.
static int pod_child(void *p) {
    struct pod_args *a = p;
    a->step = "setns";
    if (setns(a->netns_fd, CLONE_NEWNET) < 0) { a->error = -errno; return 1; }
    a->step = "netlink socket";
    int fd = nl_open();
    if (fd < 0) { a->error = fd; return 1; }
    int r;
    int lo = ifindex_ioctl("lo");
    a->step = "lo up";
    if (lo > 0 && (r = req_link_up(fd, lo)) < 0) goto fail;
    a->step = "find pod interface";
    int idx = ifindex_ioctl(a->ifname);
    if (idx <= 0) { r = idx == 0 ? -ENODEV : idx; goto fail; }
    a->step = "add address";
    if ((r = req_addr_add(fd, idx, a->ip, a->prefix)) < 0) goto fail;
    a->step = "set up";
    if ((r = req_link_up(fd, idx)) < 0) goto fail;
    a->step = "add default route";
    if ((r = req_route(fd, 1, NULL, 0, idx, a->gateway, NULL)) < 0) goto fail;
    close(fd);
    a->step = NULL;
    a->error = 0;
    return 0;
fail:
    close(fd);
    a->error = r;
    return 1;
}

int berth_nl_pod_configure(int netns_fd, const char *ifname, const char *ip, int prefix, const char *gateway,
                           const char **failed_step) {
    struct pod_args a = {netns_fd, ifname, ip, gateway, prefix, -EINTR, "clone"};
    size_t size = 256 * 1024;
    void *stack = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_STACK, -1, 0);
    if (stack == MAP_FAILED) {
        if (failed_step) *failed_step = "mmap child stack";
        return -errno;
    }
    // Signals stay blocked in the child; the parent resumes only after it exits (CLONE_VFORK).
    int pid = clone(pod_child, (char *)stack + size, CLONE_VM | CLONE_VFORK | SIGCHLD, &a);
    if (pid < 0) {
        int e = errno;
        munmap(stack, size);
        if (failed_step) *failed_step = "clone";
        return -e;
    }
    int status;
    while (waitpid(pid, &status, __WALL) < 0 && errno == EINTR) {}
    munmap(stack, size);
    if (a.error < 0 && failed_step) *failed_step = a.step;
    return a.error;
}
