// Import page for moderators: upload a spreadsheet of questions collected
// beforehand, read the row report (POST /api/import/preview), then accept
// (POST /api/import/commit with the previewed file's SHA-256, so only that
// file is imported). Nothing is imported before the button is pressed.
// Self-contained; text set with textContent only.

const LANG_KEY = 'doithoai.lang';
const TOKEN_KEY = 'doithoai.staff.token';
const T = {
  vi: {
    page_title: 'Nhập câu hỏi thu thập trước — doithoai', title: 'Nhập câu hỏi thu thập trước', templateXlsx: 'Tải mẫu XLSX', templateCsv: 'Tải mẫu CSV',
    token: 'Mã truy cập của ban tổ chức', open: 'Mở', file: 'Tệp .xlsx hoặc .csv (UTF-8)',
    source: 'Đơn vị thu thập (khi cột trống)', preview: 'Xem trước', commit: 'Nhập các câu hỏi mới',
    row: 'Dòng', status: 'Kết quả', text: 'Nội dung', hall: 'Điểm cầu', reason: 'Lý do', lang: 'English',
    s_new: 'Mới', s_already_imported: 'Đã có', s_rejected: 'Bị loại', s_imported: 'Đã nhập',
    summary: (s) => `${s.rows} dòng: ${s.new} mới, ${s.already_imported} đã có, ${s.rejected} bị loại, ${s.imported} đã nhập.`,
    commitN: (n) => `Nhập ${n} câu hỏi mới`, done: 'Đã nhập xong.', nothingNew: 'Không có dòng mới để nhập.',
  },
  en: {
    page_title: 'Import questions collected beforehand — doithoai', title: 'Import questions collected beforehand', templateXlsx: 'XLSX template', templateCsv: 'CSV template',
    token: "Moderator's access token", open: 'Open', file: '.xlsx or .csv (UTF-8) file',
    source: 'Collected by (when the column is empty)', preview: 'Preview', commit: 'Import the new questions',
    row: 'Row', status: 'Result', text: 'Text', hall: 'Hall', reason: 'Reason', lang: 'Tiếng Việt',
    s_new: 'New', s_already_imported: 'Already there', s_rejected: 'Rejected', s_imported: 'Imported',
    summary: (s) => `${s.rows} rows: ${s.new} new, ${s.already_imported} already there, ${s.rejected} rejected, ${s.imported} imported.`,
    commitN: (n) => `Import ${n} new questions`, done: 'Import finished.', nothingNew: 'Nothing new to import.',
  },
};

let lang = localStorage.getItem(LANG_KEY) === 'en' ? 'en' : 'vi';
let token = '';
let report = null;
let file = null;
const $ = (id) => document.getElementById(id);
const t = (k, ...a) => {
  const v = T[lang][k] ?? T.vi[k] ?? k;
  return typeof v === 'function' ? v(...a) : v;
};

function cell(text, cls) {
  const td = document.createElement('td');
  if (cls) td.className = cls;
  td.textContent = text ?? '';
  return td;
}

function say(text, error = false) {
  $('message').textContent = text;
  $('message').className = error ? 'message error' : 'message';
  $('message').hidden = !text;
}

function render() {
  document.documentElement.lang = lang;
  for (const n of document.querySelectorAll('[data-i18n]')) n.textContent = t(n.dataset.i18n);
  $('lang').textContent = t('lang');
  if (!report) return;
  $('result').hidden = false;
  $('summary').textContent = t('summary', report.summary);
  const n = report.summary.new;
  $('commit').textContent = t('commitN', n);
  $('commit').disabled = report.committed || n === 0;
  $('rows').replaceChildren(...report.rows.map((r) => {
    const tr = document.createElement('tr');
    if (r.status === 'rejected') tr.className = 'rejected';
    const reasons = (r.reasons ?? []).map((x) => (lang === 'en' ? x.message_en : x.message)).join('; ');
    tr.append(cell(String(r.row)), cell(t(`s_${r.status}`)), cell(r.text), cell(r.hall), cell(reasons));
    return tr;
  }));
}

async function send(step) {
  const body = new FormData();
  body.append('file', file, file.name);
  const source = $('source').value.normalize('NFC').trim();
  if (source) body.append('source', source);
  if (step === 'commit') body.append('sha256', report.sha256);
  const r = await fetch(`/api/import/${step}`, { method: 'POST', headers: { Authorization: `Bearer ${token}` }, body });
  const data = await r.json().catch(() => null);
  if (!r.ok) {
    say(data ? (lang === 'en' ? data.message_en : data.message) : `HTTP ${r.status}`, true);
    if (r.status === 401) {
      $('login').hidden = false;
      $('main').hidden = true;
    }
    return null;
  }
  return data;
}

function start() {
  const fromHash = new URLSearchParams(location.hash.slice(1)).get('token');
  if (fromHash) {
    sessionStorage.setItem(TOKEN_KEY, fromHash);
    history.replaceState(null, '', location.pathname);
  }
  token = sessionStorage.getItem(TOKEN_KEY) ?? '';
  $('login').hidden = Boolean(token);
  $('main').hidden = !token;
  $('lang').addEventListener('click', () => {
    lang = lang === 'vi' ? 'en' : 'vi';
    localStorage.setItem(LANG_KEY, lang);
    render();
  });
  $('login').addEventListener('submit', (e) => {
    e.preventDefault();
    token = $('token-input').value.trim();
    sessionStorage.setItem(TOKEN_KEY, token);
    $('login').hidden = true;
    $('main').hidden = false;
  });
  $('upload').addEventListener('submit', async (e) => {
    e.preventDefault();
    file = $('file').files[0];
    if (!file) return;
    say('');
    report = await send('preview');
    render();
  });
  $('commit').addEventListener('click', async () => {
    if (!report || !file) return;
    $('commit').disabled = true;
    const done = await send('commit');
    if (done) {
      report = done;
      say(done.summary.imported ? t('done') : t('nothingNew'));
    }
    render();
  });
  render();
}

start();
