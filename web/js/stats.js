// Statistics page: charts drawn as SVG with the DOM from GET /api/stats
// (Bearer token of a moderator, the chair, a follow-up officer or the
// admin). No chart library, no external service: bars are <rect>s, labels
// are <text> set with textContent, colours come from css/stats.css.
// Strings and the language switch: the shared i18n.js.

import { addStrings, t, lang, apply, onLang, langToggle } from './i18n.js';

const SVG = 'http://www.w3.org/2000/svg';
const TOKEN_KEY = 'doithoai.staff.token';
const STEPS = ['deferred', 'answer_drafted', 'answer_sent', 'published'];

addStrings(
  {
    'st.page_title': 'Thống kê — doithoai', 'st.title': 'Thống kê câu hỏi', 'st.reload': 'Tải lại', 'st.token': 'Mã truy cập (ban tổ chức, chủ trì, theo dõi)', 'st.open': 'Mở',
    'st.over_time': 'Câu hỏi theo thời gian', 'st.by_hall': 'Theo điểm cầu', 'st.by_group': 'Theo nhóm vấn đề',
    'st.by_department': 'Theo cơ quan trả lời', 'st.by_source': 'Theo nguồn', 'st.followup': 'Tiến độ trả lời bằng văn bản',
    'st.total': 'Câu hỏi nhận được', 'st.answered': 'Trả lời tại chỗ', 'st.deferred': 'Trả lời bằng văn bản', 'st.overdue': 'Quá hạn',
    'st.submitted': 'Gửi đến', 'st.answered_live': 'Đã trả lời', 'st.none': 'Chưa có dữ liệu',
    'st.step.deferred': 'Đã giao', 'st.step.answer_drafted': 'Đã dự thảo', 'st.step.answer_sent': 'Đã gửi', 'st.step.published': 'Đã công bố',
    'st.load_failed': 'Không tải được thống kê', 'st.followup_link': 'Theo dõi trả lời', 'st.per_minutes': 'mỗi cột {m} phút',
    'st.halls': 'Kết quả theo điểm cầu', 'st.hall': 'Điểm cầu', 'st.asked': 'Câu hỏi gửi', 'st.hall.answered_live': 'Trả lời tại chỗ',
    'st.hall.answered_in_writing': 'Trả lời bằng văn bản', 'st.hall.rejected': 'Không nhận',
  },
  {
    'st.page_title': 'Statistics — doithoai', 'st.title': 'Question statistics', 'st.reload': 'Reload', 'st.token': 'Access token (moderator, chair, follow-up)', 'st.open': 'Open',
    'st.over_time': 'Questions over time', 'st.by_hall': 'By hall', 'st.by_group': 'By issue group',
    'st.by_department': 'By answering department', 'st.by_source': 'By source', 'st.followup': 'Written answers progress',
    'st.total': 'Questions received', 'st.answered': 'Answered on stage', 'st.deferred': 'Written answer', 'st.overdue': 'Overdue',
    'st.submitted': 'Submitted', 'st.answered_live': 'Answered', 'st.none': 'No data yet',
    'st.step.deferred': 'Assigned', 'st.step.answer_drafted': 'Drafted', 'st.step.answer_sent': 'Sent', 'st.step.published': 'Published',
    'st.load_failed': 'Could not load the statistics', 'st.followup_link': 'Follow-up', 'st.per_minutes': '{m} minutes per bar',
    'st.halls': 'Outcomes by hall', 'st.hall': 'Hall', 'st.asked': 'Asked', 'st.hall.answered_live': 'Answered on stage',
    'st.hall.answered_in_writing': 'Written answer', 'st.hall.rejected': 'Rejected',
  },
);

let token = '';
let stats = null;

const $ = (id) => document.getElementById(id);

function svg(tag, attrs = {}, text) {
  const node = document.createElementNS(SVG, tag);
  for (const [k, v] of Object.entries(attrs)) node.setAttribute(k, String(v));
  if (text !== undefined) node.textContent = text;
  return node;
}

function html(tag, cls, text) {
  const node = document.createElement(tag);
  if (cls) node.className = cls;
  if (text !== undefined) node.textContent = text;
  return node;
}

function label(item) {
  return lang() === 'en' && item.label_en ? item.label_en : item.label;
}

/** A chart's text alternative: its heading, then every figure it draws. */
function describe(container, parts) {
  const title = container.closest('section')?.querySelector('h2')?.textContent ?? '';
  return `${title}. ${parts.join('; ')}`;
}

/** Horizontal bars, one per item, value printed at the end of the bar. */
function hbars(container, items) {
  const rows = items.filter((i) => i.count > 0 || items.length <= 15);
  if (!rows.length || rows.every((i) => i.count === 0)) {
    container.replaceChildren(html('p', 'muted', t('st.none')));
    return;
  }
  const width = 640;
  const labelW = 250;
  const rowH = 24;
  const max = Math.max(1, ...rows.map((i) => i.count));
  const chart = svg('svg', { viewBox: `0 0 ${width} ${rows.length * rowH + 4}`, role: 'img', class: 'hbars', 'aria-label': describe(container, rows.map((i) => `${label(i)}: ${i.count}`)) });
  rows.forEach((item, i) => {
    const y = i * rowH + 2;
    const name = label(item);
    const text = svg('text', { x: labelW - 8, y: y + rowH * 0.68, 'text-anchor': 'end', class: 'label' },
      name.length > 34 ? `${name.slice(0, 33)}…` : name);
    text.append(svg('title', {}, name));
    const w = ((width - labelW - 40) * item.count) / max;
    chart.append(text,
      svg('rect', { x: labelW, y: y + 3, width: Math.max(w, item.count ? 2 : 0), height: rowH - 7, class: 'bar', rx: 2 }),
      svg('text', { x: labelW + w + 6, y: y + rowH * 0.68, class: 'value' }, String(item.count)));
  });
  container.replaceChildren(chart);
}

/** Submissions per time bucket as bars; live answers as a second, narrower bar. */
function timeline(container, tl) {
  const buckets = tl.buckets;
  if (!buckets.length) {
    container.replaceChildren(html('p', 'muted', t('st.none')));
    return;
  }
  // Wide charts get a wide view box so their text matches the narrow charts' size.
  const width = 1200;
  const height = 260;
  const pad = { l: 34, b: 28, t: 10 };
  const max = Math.max(1, ...buckets.map((b) => Math.max(b.submitted, b.answered)));
  // A few buckets should not turn into a wall of blue.
  const step = Math.min((width - pad.l) / buckets.length, 80);
  const scale = (v) => ((height - pad.b - pad.t) * v) / max;
  const chart = svg('svg', { viewBox: `0 0 ${width} ${height}`, role: 'img', class: 'timeline', 'aria-label': describe(container, buckets.filter((b) => b.submitted || b.answered).map((b) => `${b.label}: ${t('st.submitted')} ${b.submitted}, ${t('st.answered_live')} ${b.answered}`)) });
  chart.append(svg('line', { x1: pad.l, y1: height - pad.b, x2: width, y2: height - pad.b, class: 'axis' }));
  for (const v of [0, Math.ceil(max / 2), max]) {
    chart.append(svg('text', { x: pad.l - 6, y: height - pad.b - scale(v) + 4, 'text-anchor': 'end', class: 'tick' }, String(v)));
  }
  const every = Math.max(1, Math.ceil(buckets.length / 12));
  buckets.forEach((b, i) => {
    const x = pad.l + i * step;
    const h = scale(b.submitted);
    const bar = svg('rect', { x: x + step * 0.1, y: height - pad.b - h, width: step * 0.6, height: h, class: 'bar' });
    bar.append(svg('title', {}, `${b.label}: ${t('st.submitted')} ${b.submitted}, ${t('st.answered_live')} ${b.answered}`));
    const a = scale(b.answered);
    chart.append(bar, svg('rect', { x: x + step * 0.55, y: height - pad.b - a, width: step * 0.3, height: a, class: 'bar answered' }));
    if (i % every === 0) {
      chart.append(svg('text', { x: x + step * 0.4, y: height - 8, 'text-anchor': 'middle', class: 'tick' }, b.label));
    }
  });
  const legend = html('p', 'legend');
  legend.append(html('span', 'key submitted', t('st.submitted')), html('span', 'key answered', t('st.answered_live')),
    html('span', 'muted', t('st.per_minutes', { m: tl.bucket_minutes })));
  container.replaceChildren(chart, legend);
}

/** One stacked bar per agency: assigned → drafted → sent → published. */
function followup(container, agencies) {
  if (!agencies.length) {
    container.replaceChildren(html('p', 'muted', t('st.none')));
    return;
  }
  const width = 1200;
  const labelW = 300;
  const rowH = 26;
  const max = Math.max(1, ...agencies.map((a) => a.total));
  const chart = svg('svg', { viewBox: `0 0 ${width} ${agencies.length * rowH + 4}`, role: 'img', class: 'stacked', 'aria-label': describe(container, agencies.map((a) => `${a.agency}: ${STEPS.map((s) => `${t(`st.step.${s}`)} ${a[s]}`).join(', ')}${a.overdue ? `, ${t('st.overdue')} ${a.overdue}` : ''}`)) });
  agencies.forEach((a, i) => {
    const y = i * rowH + 2;
    const name = a.agency.length > 38 ? `${a.agency.slice(0, 37)}…` : a.agency;
    const text = svg('text', { x: labelW - 8, y: y + rowH * 0.65, 'text-anchor': 'end', class: 'label' }, name);
    text.append(svg('title', {}, a.agency));
    chart.append(text);
    let x = labelW;
    for (const s of STEPS) {
      const w = ((width - labelW - 200) * a[s]) / max;
      if (w > 0) {
        const seg = svg('rect', { x, y: y + 4, width: w, height: rowH - 9, class: `seg s-${s}` });
        seg.append(svg('title', {}, `${t(`st.step.${s}`)}: ${a[s]}`));
        chart.append(seg);
      }
      x += w;
    }
    const note = a.overdue ? `${a.total} (${t('st.overdue')}: ${a.overdue})` : String(a.total);
    chart.append(svg('text', { x: x + 6, y: y + rowH * 0.65, class: a.overdue ? 'value overdue' : 'value' }, note));
  });
  const legend = html('p', 'legend');
  for (const s of STEPS) legend.append(html('span', `key s-${s}`, t(`st.step.${s}`)));
  container.replaceChildren(chart, legend);
}

const HALL_COLUMNS = [['asked', 'st.asked'], ['answered_live', 'st.hall.answered_live'], ['answered_in_writing', 'st.hall.answered_in_writing'], ['rejected', 'st.hall.rejected']];

/** Per hall: asked, answered on stage, answered in writing, rejected — a plain table, so every figure is read out. */
function hallTable(container, halls) {
  if (!halls?.length) {
    container.replaceChildren(html('p', 'muted', t('st.none')));
    return;
  }
  const table = html('table', 'halls');
  table.setAttribute('aria-labelledby', 'halls-title');
  const head = html('tr');
  for (const key of ['st.hall', ...HALL_COLUMNS.map(([, k]) => k)]) {
    const th = html('th', '', t(key));
    th.scope = 'col';
    head.append(th);
  }
  const body = html('tbody');
  for (const hall of halls) {
    const tr = html('tr');
    tr.dataset.hall = hall.id;
    const th = html('th', '', label(hall));
    th.scope = 'row';
    tr.append(th, ...HALL_COLUMNS.map(([field]) => html('td', 'num', String(hall[field]))));
    body.append(tr);
  }
  const thead = html('thead');
  thead.append(head);
  table.append(thead, body);
  container.replaceChildren(table);
}

function totals(s) {
  const box = (key, value, cls = '') => {
    const d = html('div', `total ${cls}`);
    d.append(html('strong', '', String(value)), html('span', '', t(key)));
    return d;
  };
  $('totals').replaceChildren(box('st.total', s.total), box('st.answered', s.answered_on_stage),
    box('st.deferred', s.deferred), box('st.overdue', s.overdue, s.overdue ? 'overdue' : ''));
}

function render() {
  if (!stats) return;
  totals(stats);
  timeline($('chart-time'), stats.timeline);
  hbars($('chart-hall'), stats.by_hall);
  hallTable($('halls'), stats.halls);
  hbars($('chart-group'), stats.by_group);
  hbars($('chart-department'), stats.by_department);
  hbars($('chart-source'), stats.by_source);
  followup($('chart-followup'), stats.followup);
}

function say(text) {
  $('message').textContent = text;
  $('message').hidden = !text;
}

async function load() {
  const r = await fetch('/api/stats', { headers: { Authorization: `Bearer ${token}` } });
  if (!r.ok) {
    const body = await r.json().catch(() => null);
    say(body ? (lang() === 'en' ? body.message_en : body.message) : t('st.load_failed'));
    if (r.status === 401) {
      $('login').hidden = false;
      $('main').hidden = true;
    }
    return;
  }
  stats = await r.json();
  say('');
  $('login').hidden = true;
  $('main').hidden = false;
  const e = await fetch(`/api/events/${encodeURIComponent(stats.event)}`);
  if (e.ok) $('event-name').textContent = (await e.json()).name ?? stats.event;
  render();
}

/** Remember the seat's token in this tab and in the address, and pass it to the follow-up link. */
function useToken(value) {
  token = value;
  if (!token) return;
  sessionStorage.setItem(TOKEN_KEY, token);
  const hash = `#token=${encodeURIComponent(token)}`;
  if (location.hash !== hash) history.replaceState(null, '', `${location.pathname}${location.search}${hash}`);
  $('followup-link').href = `/followup.html${hash}`;
}

function start() {
  apply();
  langToggle($('lang'));
  onLang(render);
  // The token stays in the address (#token=…): bookmarks and reloads keep working.
  useToken(new URLSearchParams(location.hash.slice(1)).get('token') ?? sessionStorage.getItem(TOKEN_KEY) ?? '');
  $('reload').addEventListener('click', load);
  $('login').addEventListener('submit', (ev) => {
    ev.preventDefault();
    useToken($('token-input').value.normalize('NFC').trim());
    load();
  });
  setInterval(() => {
    if (token && !document.hidden) load();
  }, 20000);
  if (token) load();
  else $('login').hidden = false;
}

start();
