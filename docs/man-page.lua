-- Pandoc filter for the man pages: a page may open with a level-1 title
-- heading such as "# nbdkit-file-plugin(1)" and put its sections (NAME,
-- SYNOPSIS, ...) at level 2.  The man page's title comes from the file
-- name, so that heading is dropped and the sections are raised one level.
function Pandoc(doc)
  local first = doc.blocks[1]
  if not (first and first.t == "Header" and first.level == 1
          and pandoc.utils.stringify(first):match("%(%d%)$")) then
    return doc
  end
  doc.blocks:remove(1)
  doc.blocks = doc.blocks:walk({
    Header = function(h)
      if h.level > 1 then h.level = h.level - 1 end
      return h
    end,
  })
  return doc
end
