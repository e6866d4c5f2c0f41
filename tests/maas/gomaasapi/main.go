// Command gomaasapi-juju replays the calls Juju's MAAS provider makes, through Juju's own MAAS
// client library (Debian's golang-github-juju-gomaasapi-dev), against a running vmhost.
//
// It is built in GOPATH mode against Debian's packages only (tests/maas/test_gomaasapi.py):
//
//	GOPATH=<dir>:/usr/share/gocode GO111MODULE=off GOPROXY=off go build
//
// and run as
//
//	gomaasapi-juju -url http://127.0.0.1:PORT/MAAS -key NAME:ID:TOKEN -zone Z -space S
//
// Every step prints one line "ok <step>: <detail>"; the first failing step prints
// "FAIL <step>: <why>" and the program exits 1 (2 for bad arguments).
package main

import (
	"bytes"
	"compress/gzip"
	"encoding/base64"
	"flag"
	"fmt"
	"os"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/juju/gomaasapi"
)

var step = "arguments"

func fail(format string, args ...interface{}) {
	fmt.Printf("FAIL %s: %s\n", step, fmt.Sprintf(format, args...))
	os.Exit(1)
}

func ok(format string, args ...interface{}) {
	fmt.Printf("ok %s: %s\n", step, fmt.Sprintf(format, args...))
}

func check(err error) {
	if err != nil {
		fail("%v", err)
	}
}

// userData is what Juju's MAASRenderer sends: base64(gzip(cloud-config YAML)).
func userData(text string) string {
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	if _, err := zw.Write([]byte(text)); err != nil {
		fail("gzip: %v", err)
	}
	if err := zw.Close(); err != nil {
		fail("gzip: %v", err)
	}
	return base64.StdEncoding.EncodeToString(buf.Bytes())
}

func machineByID(c gomaasapi.Controller, agent, id string) gomaasapi.Machine {
	machines, err := c.Machines(gomaasapi.MachinesArgs{AgentName: agent, SystemIDs: []string{id}})
	check(err)
	if len(machines) != 1 {
		fail("machines/?agent_name=%s&id=%s gave %d machines, want 1", agent, id, len(machines))
	}
	return machines[0]
}

func main() {
	base := flag.String("url", "", "the MAAS endpoint, http://HOST:PORT/MAAS")
	key := flag.String("key", "", "the MAAS API key CONSUMER:TOKEN:SECRET")
	zone := flag.String("zone", "", "a zone holding a host")
	spaceName := flag.String("space", "", "a space with a subnet on that zone's hosts")
	series := flag.String("series", "noble", "distro_series to deploy")
	agent := flag.String("agent", "2f9ac6c4-5d6e-4c8b-9c39-7f1e0c5b8a11", "agent name (model uuid)")
	cores := flag.Int("cores", 2, "cpu_count to allocate")
	memory := flag.Int("memory", 2048, "mem (MiB) to allocate")
	rootGB := flag.Int("root", 20, "root disk (GB)")
	deployTimeout := flag.Duration("deploy-timeout", 60*time.Second, "how long to wait for Deployed")
	flag.Parse()
	if *base == "" || *key == "" || *zone == "" || *spaceName == "" {
		fmt.Println("usage: gomaasapi-juju -url URL -key KEY -zone ZONE -space SPACE")
		os.Exit(2)
	}

	// Every environ open: version/ then users/?op=whoami.
	step = "NewController"
	c, err := gomaasapi.NewController(gomaasapi.ControllerArgs{BaseURL: *base, APIKey: *key})
	check(err)
	version, subversion, err := c.APIVersionInfo()
	check(err)
	if !c.Capabilities().Contains(gomaasapi.NetworksManagement) {
		fail("capabilities %v lack %s", c.Capabilities().SortedValues(), gomaasapi.NetworksManagement)
	}
	ok("version %q %q, capabilities %v", version, subversion, c.Capabilities().SortedValues())

	step = "BootResources"
	resources, err := c.BootResources()
	check(err)
	arches := map[string]bool{}
	for _, r := range resources {
		arches[strings.Split(r.Architecture(), "/")[0]] = true
	}
	if len(resources) == 0 || !arches["amd64"] {
		fail("%d boot resources, architectures %v: Juju would refuse arch=amd64", len(resources), arches)
	}
	ok("%d, first %s %s", len(resources), resources[0].Name(), resources[0].Architecture())

	step = "Zones"
	zones, err := c.Zones()
	check(err)
	var zoneNames []string
	found := false
	for _, z := range zones {
		zoneNames = append(zoneNames, z.Name())
		found = found || z.Name() == *zone
	}
	sort.Strings(zoneNames)
	if !found {
		fail("zone %q not in %v", *zone, zoneNames)
	}
	ok("%v", zoneNames)

	// Juju skips spaces without subnets; it sends the numeric id back as space=<id>.
	step = "Spaces"
	spaces, err := c.Spaces()
	check(err)
	var space gomaasapi.Space
	for _, s := range spaces {
		if s.Name() == *spaceName {
			space = s
		}
	}
	if space == nil {
		fail("space %q not among %d spaces", *spaceName, len(spaces))
	}
	if len(space.Subnets()) == 0 {
		fail("space %q has no subnet: Juju would skip it", *spaceName)
	}
	spaceID := strconv.Itoa(space.ID())
	ok("%d spaces; %s is id %s with subnet %s", len(spaces), *spaceName, spaceID, space.Subnets()[0].CIDR())

	// Juju's allocate: label = the space's id, root disk, agent name, zone.
	step = "AllocateMachine"
	m, matches, err := c.AllocateMachine(gomaasapi.AllocateMachineArgs{
		MinCPUCount: *cores,
		MinMemory:   *memory,
		Zone:        *zone,
		Storage:     []gomaasapi.StorageSpec{{Label: "root", Size: *rootGB}},
		Interfaces:  []gomaasapi.InterfaceSpec{{Label: spaceID, Space: spaceID}},
		AgentName:   *agent,
	})
	check(err)
	if m.CPUCount() < *cores || m.Memory() < *memory {
		fail("machine has %d cores and %d MiB, asked %d and %d", m.CPUCount(), m.Memory(), *cores, *memory)
	}
	if m.Zone() == nil || m.Zone().Name() != *zone {
		fail("machine zone %v, asked %q", m.Zone(), *zone)
	}
	if m.StatusName() != "Allocated" {
		fail("status %q after allocate, want Allocated", m.StatusName())
	}
	if !strings.HasPrefix(m.Architecture(), "amd64") {
		fail("architecture %q: Juju picks agent binaries by the part before /", m.Architecture())
	}
	nics := matches.Interfaces[spaceID]
	if len(nics) == 0 {
		fail("constraints_by_type has no interface for label %s: %v", spaceID, matches.Interfaces)
	}
	if matches.Storage == nil {
		fail("constraints_by_type has no storage map: Juju's volumes() fails on nil")
	}
	for _, l := range nics[0].Links() {
		if l.Subnet() != nil && l.Subnet().Space() != *spaceName {
			fail("interface %s is on subnet %s of space %q, asked %q", nics[0].Name(), l.Subnet().CIDR(), l.Subnet().Space(), *spaceName)
		}
	}
	var root uint64
	for _, bd := range m.BlockDevices() {
		root += bd.Size()
	}
	// MAAS's storage sizes are GB (10^9 bytes), as Juju's StorageSpec says
	if root < uint64(*rootGB)*1000*1000*1000 {
		fail("block devices hold %d bytes, asked root:%d (GB)", root, *rootGB)
	}
	id := m.SystemID()
	ok("%s %s (%d cores, %d MiB, zone %s), interface %s for space %s", id, m.Hostname(), m.CPUCount(), m.Memory(), m.Zone().Name(), nics[0].Name(), spaceID)

	step = "Start"
	cloudConfig := "#cloud-config\nruncmd:\n- echo juju-gomaasapi-" + id + "\n"
	check(m.Start(gomaasapi.StartArgs{UserData: userData(cloudConfig), DistroSeries: *series}))
	ok("deploy with %d bytes of cloud-config, series %s", len(cloudConfig), *series)

	step = "Domains"
	domains, err := c.Domains()
	check(err)
	if len(domains) == 0 {
		fail("no domain")
	}
	ok("%s", domains[0].Name())

	step = "SetOwnerData"
	check(m.SetOwnerData(map[string]string{
		"juju-controller-uuid": "c0ffee00-0000-4000-8000-000000000001",
		"juju-model-uuid":      *agent,
		"juju-is-controller":   "true",
		"juju-scratch":         "gone soon",
	}))
	check(m.SetOwnerData(map[string]string{"juju-scratch": ""})) // an empty value deletes
	owner := machineByID(c, *agent, id).OwnerData()
	if owner["juju-is-controller"] != "true" || owner["juju-model-uuid"] != *agent {
		fail("owner data read back as %v", owner)
	}
	if _, present := owner["juju-scratch"]; present {
		fail("an empty value did not delete the key: %v", owner)
	}
	ok("%v", owner)

	step = "Machines"
	byAgent, err := c.Machines(gomaasapi.MachinesArgs{AgentName: *agent})
	check(err)
	if len(byAgent) != 1 || byAgent[0].SystemID() != id {
		fail("machines/?agent_name=%s gave %d machines, want just %s", *agent, len(byAgent), id)
	}
	other, err := c.Machines(gomaasapi.MachinesArgs{AgentName: "no-such-model"})
	check(err)
	if len(other) != 0 {
		fail("machines/?agent_name=no-such-model gave %d machines", len(other))
	}
	ok("by agent name and by id")

	// waitForNodeDeployment: poll machines/?agent_name=&id= until Deployed (bounded).
	step = "Deployed"
	deadline := time.Now().Add(*deployTimeout)
	var deployed gomaasapi.Machine
	polls := 0
	for {
		polls++
		current := machineByID(c, *agent, id)
		status := strings.ToLower(current.StatusName())
		if status == "deployed" {
			deployed = current
			break
		}
		if status == "failed deployment" {
			fail("instance %s failed to deploy: %s", id, current.StatusMessage())
		}
		if status != "deploying" {
			fail("status %q while deploying", current.StatusName())
		}
		if time.Now().After(deadline) {
			fail("still %q after %s", current.StatusName(), *deployTimeout)
		}
		time.Sleep(250 * time.Millisecond)
	}
	var linked []string
	for _, iface := range deployed.InterfaceSet() {
		for _, l := range iface.Links() {
			if l.IPAddress() != "" {
				linked = append(linked, l.IPAddress())
			}
		}
	}
	if len(linked) == 0 || len(deployed.IPAddresses()) == 0 {
		fail("deployed without an address Juju could SSH to: links %v, ip_addresses %v", linked, deployed.IPAddresses())
	}
	if deployed.DistroSeries() != *series {
		fail("distro_series %q, deployed %q", deployed.DistroSeries(), *series)
	}
	ok("after %d polls, addresses %v, power %s", polls, linked, deployed.PowerState())

	// Juju's storage: provider-state absent (404 = not bootstrapped), then add, list, delete.
	step = "Files"
	stateName := *agent + "-provider-state"
	if _, err := c.GetFile(stateName); !gomaasapi.IsNoMatchError(err) {
		fail("GET files/%s/ before adding it: want a 404 (NoMatchError), got %v", stateName, err)
	}
	content := []byte("state-instances:\n- " + id + "\n")
	check(c.AddFile(gomaasapi.AddFileArgs{Filename: stateName, Content: content}))
	listed, err := c.Files(*agent + "-")
	check(err)
	if len(listed) != 1 || listed[0].Filename() != stateName {
		fail("files/?prefix=%s- listed %d files", *agent, len(listed))
	}
	got, err := c.GetFile(stateName)
	check(err)
	read, err := got.ReadAll()
	check(err)
	if !bytes.Equal(read, content) {
		fail("read back %q, stored %q", read, content)
	}
	check(got.Delete())
	if _, err := c.GetFile(stateName); !gomaasapi.IsNoMatchError(err) {
		fail("GET after DELETE: want a 404 (NoMatchError), got %v", err)
	}
	ok("404, add, list, read, delete")

	step = "ReleaseMachines"
	check(c.ReleaseMachines(gomaasapi.ReleaseMachinesArgs{
		SystemIDs: []string{id}, Comment: "Released by Juju MAAS provider",
	}))
	released := time.Now().Add(*deployTimeout)
	for {
		left, err := c.Machines(gomaasapi.MachinesArgs{SystemIDs: []string{id}})
		check(err)
		if len(left) == 0 {
			break
		}
		if time.Now().After(released) {
			fail("machine %s still listed (%s) after release", id, left[0].StatusName())
		}
		time.Sleep(250 * time.Millisecond)
	}
	ok("%s released and gone (composed by allocate)", id)

	step = "NoMatch"
	_, _, err = c.AllocateMachine(gomaasapi.AllocateMachineArgs{MinCPUCount: 64, AgentName: *agent})
	if !gomaasapi.IsNoMatchError(err) {
		fail("allocate cpu_count=64 (hosts have 4 cores): want a 409 (NoMatchError), got %v", err)
	}
	text := strings.ToLower(err.Error())
	if !strings.Contains(text, "core") && !strings.Contains(text, "cpu") {
		fail("the 409 does not name the lacking resource: %v", err)
	}
	ok("%v", err)

	step = "BadKey"
	parts := strings.Split(*key, ":")
	if len(parts) != 3 {
		fail("key %q is not CONSUMER:TOKEN:SECRET", "<hidden>")
	}
	wrong := parts[0] + ":" + parts[1] + ":" + parts[2] + "x"
	_, err = gomaasapi.NewController(gomaasapi.ControllerArgs{BaseURL: *base, APIKey: wrong})
	if !gomaasapi.IsPermissionError(err) {
		fail("a wrong secret: want a 401 (PermissionError), got %v", err)
	}
	ok("%v", err)

	step = "done"
	ok("all steps passed")
}
