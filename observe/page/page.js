// tsnet topology page: redraws the tables from the server-sent events of /api/events (each one the
// topology, pushed when it changes); while that stream is down it polls /api/topology every second and
// tries the stream again every RETRY_LIVE_MS. Plain JS, no build step, no CDN. Text is set with
// textContent only (names and messages come from users).
'use strict';

const POLL_MS = 1000;
const RETRY_LIVE_MS = 10000;
const short = (id) => String(id).slice(0, 12);

function fmtBytes(n) {
  if (n === undefined || n === null) return '–';
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let i = 0;
  while (n >= 1024 && i < units.length - 1) { n /= 1024; i++; }
  return `${n.toFixed(i === 0 ? 0 : 1)} ${units[i]}`;
}

function cell(text, cls) {
  const td = document.createElement('td');
  if (text instanceof Node) td.append(text); else td.textContent = text;
  if (cls) td.className = cls;
  return td;
}

function bar(used, size, label = `${used} / ${size}`) {
  const wrap = document.createElement('span');
  const b = document.createElement('span');
  const fill = document.createElement('span');
  const frac = size > 0 ? Math.min(1, used / size) : 0;
  b.className = frac >= 0.9 ? 'bar full' : 'bar';
  fill.style.width = `${(frac * 100).toFixed(1)}%`;
  b.append(fill);
  wrap.append(b, document.createTextNode(label));
  return wrap;
}

/** Replaces the rows of table `id`; each row is [key, cells]; the key goes in data-key. */
function fill(id, rows, empty) {
  const body = document.querySelector(`#${id} tbody`);
  body.replaceChildren();
  for (const [key, cells] of rows) {
    const tr = document.createElement('tr');
    tr.dataset.key = key;
    tr.append(...cells);
    body.append(tr);
  }
  if (rows.length === 0) {
    const tr = document.createElement('tr');
    const td = cell(empty, 'muted');
    td.colSpan = document.querySelectorAll(`#${id} th`).length;
    tr.append(td);
    body.append(tr);
  }
}

/** The tsipam pool serving a subnet, if any. */
function poolOf(pools, subnet) {
  return (pools || []).find((p) => p.Subnet === subnet);
}

function render(t) {
  const plugins = document.getElementById('plugins');
  plugins.replaceChildren();
  for (const [name, ready] of Object.entries(t.ready)) {
    if (ready === null || ready === undefined) continue;
    const s = document.createElement('span');
    s.className = ready ? 'ok' : 'bad';
    s.textContent = `${name} ${ready ? 'ready' : 'starting'}  `;
    plugins.append(s);
  }
  const updated = document.getElementById('updated');
  updated.textContent = `updated ${new Date(t.time).toLocaleTimeString()} (${feed.live ? 'live' : 'polling'})`;
  updated.dataset.mode = feed.live ? 'live' : 'polling';

  const networks = t.networks || [];
  const localHost = t.cluster ? t.cluster.hostId : 'this host';
  const hosts = [[localHost, [cell(t.cluster ? `${localHost} (this host)` : localHost, 'mono'), cell(t.cluster ? t.cluster.advertiseAddr : '–', 'mono'), cell('–'),
    cell(t.cluster ? (t.cluster.etcdUp ? 'reachable' : 'UNREACHABLE') : 'single host', t.cluster ? (t.cluster.etcdUp ? 'ok' : 'bad') : 'muted')]]];
  const remote = new Map();
  for (const n of networks) {
    for (const p of (n.Mode === 'overlay' && n.Details.peers) || []) {
      const h = remote.get(p.host) || { vtep: p.vtep, endpoints: 0 };
      h.endpoints += p.endpoints;
      remote.set(p.host, h);
    }
  }
  for (const [host, h] of remote) hosts.push([host, [cell(host, 'mono'), cell(h.vtep, 'mono'), cell(String(h.endpoints)), cell('')]]);
  fill('hosts', hosts, '');

  fill('networks', networks.map((n) => {
    const subnet = n.Subnets[0];
    const pool = subnet && poolOf(t.pools, subnet);
    return [n.ID, [cell(short(n.ID), 'mono'), cell(n.Mode), cell(n.Subnets.join(' ') || '–', 'mono'), cell(String(n.Endpoints.length)),
      cell(pool ? bar(Number(pool.Used), Number(pool.Size)) : '–')]];
  }), 'no networks');

  const endpoints = [];
  for (const n of networks) {
    for (const e of n.Endpoints) {
      const who = e.ContainerName ? `${e.ContainerName} (${short(e.ID)})` : short(e.ID);
      endpoints.push([e.ID, [cell(who, 'mono'), cell(short(n.ID), 'mono'), cell([e.Address, e.AddressIPv6].filter(Boolean).join(' ') || '–', 'mono'),
        cell(e.Joined ? 'this host' : 'this host (not joined)'), cell(e.PublishedPorts ? String(e.PublishedPorts) : '–')]]);
    }
    for (const p of (n.Mode === 'overlay' && n.Details.peers) || []) {
      endpoints.push([`${n.ID}/${p.host}`, [cell(`${p.endpoints} endpoint(s)`, 'muted'), cell(short(n.ID), 'mono'), cell('–'), cell(p.host, 'mono'), cell('–')]]);
    }
  }
  fill('endpoints', endpoints, 'no endpoints');

  fill('volumes', (t.volumes || []).map((v) => [v.Name, [cell(v.Name, 'mono'), cell(`${v.Status.Type} (${v.Status.Backing})`),
    cell(v.Status.SizeLimitBytes ? bar(v.Status.UsedBytes || 0, v.Status.SizeLimitBytes, fmtBytes(v.Status.UsedBytes || 0)) : fmtBytes(v.Status.UsedBytes)),
    cell(fmtBytes(v.Status.SizeLimitBytes)), cell(String(v.Status.MountCount))]]), 'no volumes');

  fill('recent', t.recent.map((r, i) => [String(i), [cell(new Date(r.time).toLocaleTimeString()), cell(r.plugin), cell(r.call, 'mono'),
    cell(String(r.status), r.outcome === 'error' ? 'bad' : ''), cell(r.err || '', 'msg')]]), 'none');
}

/** How the page is fed: `live` while the event stream is open; `timer` runs polling otherwise. */
const feed = { live: false, source: null, timer: null };

async function poll() {
  feed.timer = null;
  try {
    const res = await fetch('api/topology', { cache: 'no-store' });
    if (!res.ok) throw new Error(`HTTP ${res.status}`);
    if (!feed.live) render(await res.json());
  } catch (err) {
    document.getElementById('updated').textContent = `cannot reach tsnet serve (${err.message}); retrying`;
  } finally {
    if (!feed.live) feed.timer = setTimeout(poll, POLL_MS);
  }
}

/** Opens the event stream; on an error falls back to polling and tries the stream again later. */
function goLive() {
  const source = new EventSource('api/events');
  feed.source = source;
  source.addEventListener('open', () => {
    feed.live = true;
    if (feed.timer) clearTimeout(feed.timer);
    feed.timer = null;
  });
  source.addEventListener('topology', (e) => render(JSON.parse(e.data)));
  source.addEventListener('error', () => {
    source.close();
    feed.live = false;
    if (!feed.timer) poll();
    setTimeout(goLive, RETRY_LIVE_MS);
  });
}

if (typeof EventSource === 'function') goLive(); else poll();
