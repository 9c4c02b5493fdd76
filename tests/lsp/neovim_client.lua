-- A real editor as the client: headless Neovim opens a file, starts shapels over stdio, waits for
-- its diagnostics, asks for hover, and writes what it got as JSON. Driven by tests/lsp/test_neovim.py.
-- Inputs (environment): SHAPELS_FILE, SHAPELS_PYTHON, SHAPELS_OUT, SHAPELS_HOVER_LINE/COL (0-based).
local function run()
  local file = os.getenv("SHAPELS_FILE")
  local out = os.getenv("SHAPELS_OUT")
  vim.cmd("edit " .. vim.fn.fnameescape(file))
  local bufnr = vim.api.nvim_get_current_buf()
  local config = {
    name = "shapels",
    cmd = { os.getenv("SHAPELS_PYTHON"), "-m", "shapels", "serve", "--stdio" },
    root_dir = vim.fn.fnamemodify(file, ":h"),
    init_options = { shapels = { debounceMs = 0 } },
  }
  local client_id
  if vim.lsp.start then
    client_id = vim.lsp.start(config, { bufnr = bufnr })
  else -- Neovim 0.7 (Debian bookworm): start_client + attach
    client_id = vim.lsp.start_client(config)
    vim.lsp.buf_attach_client(bufnr, client_id)
  end
  -- Wait on the condition (Neovim's event loop keeps running), bounded at 60 s.
  local got = vim.wait(60000, function() return #vim.diagnostic.get(bufnr) > 0 end, 20)
  local diagnostics = {}
  for _, d in ipairs(vim.diagnostic.get(bufnr)) do
    table.insert(diagnostics, { lnum = d.lnum, col = d.col, end_col = d.end_col, message = d.message,
                                source = d.source, code = d.code or (d.user_data and d.user_data.lsp and d.user_data.lsp.code) })
  end
  local params = {
    textDocument = { uri = vim.uri_from_bufnr(bufnr) },
    position = { line = tonumber(os.getenv("SHAPELS_HOVER_LINE")), character = tonumber(os.getenv("SHAPELS_HOVER_COL")) },
  }
  local responses = vim.lsp.buf_request_sync(bufnr, "textDocument/hover", params, 30000) or {}
  local hover = ""
  for _, response in pairs(responses) do
    if response.result and response.result.contents then
      local contents = response.result.contents
      hover = type(contents) == "table" and (contents.value or vim.inspect(contents)) or tostring(contents)
    end
  end
  local f = io.open(out, "w")
  f:write(vim.fn.json_encode({ waited = got, diagnostics = diagnostics, hover = hover }))
  f:close()
  vim.lsp.stop_client(client_id)
end

local ok, err = pcall(run)
if not ok then
  local f = io.open(os.getenv("SHAPELS_OUT"), "w")
  f:write(vim.fn.json_encode({ error = tostring(err) }))
  f:close()
end
vim.cmd("qall!")
