--- The sequence numbers (1, 2, 3, ...) one direction of a soak has received: how many distinct
-- ones, how many copies, and which are missing. Memory stays bounded while numbers arrive
-- roughly in order: everything up to `through` is one counter, and only the numbers received
-- beyond a gap are kept, until the gap fills.
local Sequences = {}
Sequences.__index = Sequences

function Sequences.new()
    return setmetatable({
        through = 0,      -- every number from 1 to this one has been received
        ahead = {},       -- numbers received beyond the first gap -> true
        ahead_count = 0,
        distinct = 0,
        duplicates = 0,
        out_of_order = 0, -- numbers that arrived before a smaller one
    }, Sequences)
end

--- Counts number `n`.
function Sequences:add(n)
    if n <= self.through or self.ahead[n] then
        self.duplicates = self.duplicates + 1
        return
    end
    self.distinct = self.distinct + 1
    if n ~= self.through + 1 then
        self.ahead[n] = true
        self.ahead_count = self.ahead_count + 1
        self.out_of_order = self.out_of_order + 1
        return
    end
    local through = n
    while self.ahead[through + 1] do
        through = through + 1
        self.ahead[through] = nil
        self.ahead_count = self.ahead_count - 1
    end
    self.through = through
end

--- Whether every number from 1 to `sent` has been received.
function Sequences:complete(sent)
    return self.through >= sent
end

--- How many of the numbers from 1 to `sent` were not received, and the first `keep` of them.
function Sequences:missing(sent, keep)
    local count, first = 0, {}
    for n = self.through + 1, sent do
        if not self.ahead[n] then
            count = count + 1
            if #first < keep then
                first[#first + 1] = n
            end
        end
    end
    return count, first
end

return Sequences
