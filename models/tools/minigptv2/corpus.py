"""The text the project's tokenizer is trained on: every kind of prompt and answer of the synthetic shape world
(task identifiers, questions, boxes, grounded phrases) plus everyday chat, so common words become whole pieces."""
from __future__ import annotations

import random

COLOURS = ["red", "green", "blue", "yellow", "purple", "orange"]
SHAPES = ["circle", "square", "triangle", "star"]
TASK_TAGS = ["[vqa]", "[caption]", "[grounding]", "[refer]", "[identify]", "[detection]"]


def plural(shape: str) -> str:
    return shape + "s"


def _box(rng: random.Random) -> str:
    x1, y1 = rng.randrange(0, 90), rng.randrange(0, 90)
    return f"{{<{x1}><{y1}><{rng.randrange(x1 + 1, 101)}><{rng.randrange(y1 + 1, 101)}>}}"


def _scene(rng: random.Random) -> list[tuple[str, str]]:
    return [(rng.choice(COLOURS), rng.choice(SHAPES)) for _ in range(rng.randint(1, 4))]


def _join(items: list[str]) -> str:
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " and " + items[-1]


def world_lines(rng: random.Random, scenes: int) -> list[str]:
    lines = ["<s>[INST] <Img><ImageHere></Img> [/INST]</s>"] + TASK_TAGS
    for _ in range(scenes):
        objs = _scene(rng)
        c, s = rng.choice(objs)
        lines += [
            f"[refer] the {c} {s}", _box(rng),
            f"[refer] give me the location of the {c} {s}",
            f"[identify] what is this {_box(rng)}", f"{c} {s}",
            f"[detection] {plural(s)}", f"[detection] {c} objects",
            f"<p>{plural(s)}</p> " + "<delim>".join(_box(rng) for _ in range(rng.randint(1, 3))),
            f"<p>{c} objects</p> {_box(rng)}",
            f"[vqa] what color is the {s}?", c,
            f"[vqa] what shape is the {c} object?", s,
            f"[vqa] how many {plural(s)} are there?", str(rng.randint(0, 4)),
            "[vqa] how many objects are there?", str(len(objs)),
            f"[vqa] is there a {c} {s}?", rng.choice(["yes", "no"]),
            "[caption] briefly describe this image.",
            f"there is a {_join([f'{a} {b}' for a, b in objs])}.",
            f"a {_join([f'{a} {b}' for a, b in objs])} on a light background.",
            "[grounding] describe this image in detail",
            "there is " + _join([f"<p>a {a} {b}</p> {_box(rng)}" for a, b in objs]) + ".",
            f"<s>[INST] <Img><ImageHere></Img> [vqa] what color is the {s}? [/INST] {c}</s>"
            f"<s>[INST] [refer] the {c} {s} [/INST] {_box(rng)}</s>",
        ]
    return lines


_GREETINGS = ["hi", "hello", "hey", "good morning", "good evening", "hi there", "hello again", "thanks",
              "thank you", "thank you so much", "great, thanks", "ok", "okay", "sure", "no problem", "bye",
              "see you later", "have a nice day", "you are welcome", "nice to meet you"]
_ASKS = ["what is in this image?", "what do you see in this picture?", "can you describe this photo?",
         "describe the image for me.", "what is happening here?", "where is the dog?", "where is the cat?",
         "where are the people?", "how many people are there?", "how many cars can you see?",
         "how many shapes are in the picture?", "what colour is the sky?", "what color is the car?",
         "is there a person in the image?", "is it day or night?", "what is the weather like?",
         "what is the man holding?", "what is the woman wearing?", "which one is bigger?",
         "which object is on the left?", "what is on the right side?", "what is at the top of the image?",
         "what is at the bottom?", "is the door open or closed?", "can you find the red ball?",
         "could you tell me what this is?", "please describe this image in detail.",
         "tell me more about the background.", "what is the object in the middle?", "why is it there?",
         "who is in the picture?", "when was this photo taken?", "how big is the circle?",
         "are there any animals?", "does the image show a kitchen?", "what kind of room is this?",
         "what time of day is it?", "is this a real photo or a drawing?", "what should I look at first?",
         "show me where the bottle is.", "point to the chair.", "find the window.", "count the apples."]
_ANSWERS = ["I see a small room with a table and two chairs.", "There are three people standing near a car.",
            "It looks like a sunny day in a park.", "The image shows a cat sleeping on a sofa.",
            "The dog is on the left, next to the tree.", "I can see two shapes on a white background.",
            "The sky is blue with a few clouds.", "Yes, there is a person on the right.",
            "No, I do not see any animals.", "It is a drawing, not a photo.",
            "The man is holding a cup of coffee.", "The woman is wearing a red coat.",
            "The bigger one is the square.", "The circle is at the top, the star is at the bottom.",
            "I am not sure, the picture is a bit dark.", "It seems to be a kitchen with a window.",
            "Sorry, I cannot tell from this image.", "Let me take another look.",
            "Here is what I found.", "That is a good question."]
_SMALL_TALK = ["How are you today?", "I am fine, thank you for asking.", "What can you do?",
               "I can answer questions about the images you send me.", "Send me a picture and ask a question.",
               "Could you explain that again?", "Sorry, I did not understand the question.",
               "That makes sense, thank you.", "Why do you think so?", "Because the shadow points to the east.",
               "Which colour do you like most?", "I like all colours, but blue is calm.",
               "Can you read the text on the sign?", "The sign says the shop opens at nine.",
               "Is the food on the plate fresh?", "The vegetables look fresh and green.",
               "What sport are they playing?", "They are playing football on a grass field.",
               "Where was this picture taken?", "It might be a beach somewhere warm in summer.",
               "How old is the building?", "The building looks quite old, maybe a hundred years.",
               "Is anybody sitting on the bench?", "An old man is sitting on the bench reading a newspaper.",
               "What animal is this?", "It is a brown horse standing in a field.",
               "Please look closely at the corner.", "There is a small bird on the roof.",
               "Do you know what brand the phone is?", "I cannot see a logo on the phone.",
               "What is written on the board?", "The board shows a list of numbers.",
               "Tell me a short story about this scene.", "Once upon a time, a girl walked her dog by the river.",
               "Is it raining?", "The street is wet, so it probably rained recently.",
               "What fruit is on the table?", "There are bananas, oranges and a bowl of grapes.",
               "How far away is the mountain?", "The mountain is far away, behind the lake.",
               "Can you summarize the picture in one sentence?", "A family is having lunch outside.",
               "What emotion does the child show?", "The child is smiling and looks happy.",
               "Which way is the train going?", "The train is moving towards the city.",
               "Good night and sleep well.", "Please wait a moment while I think.",
               "Let us try another image.", "Nice picture, where did you take it?",
               "My friend sent me this photo yesterday.", "We went hiking last weekend.",
               "The flowers in the garden are beautiful.", "Would you like to know anything else?",
               "Nothing else for now, thanks.", "What are the people doing?", "They are waiting for the bus.",
               "Is the light green or red?", "The traffic light is green.", "How many windows does the house have?",
               "The house has six windows and one door.", "What is the boy eating?", "He is eating an ice cream."]
_OPENERS = ["", "Can you help me? ", "Quick question: ", "Please, ", "I wonder, ", "Hey, ", "One more thing: ",
            "Also, ", "And ", "So "]


def chat_lines(rng: random.Random) -> list[str]:
    lines = list(_GREETINGS) + list(_ASKS) + list(_ANSWERS) + _SMALL_TALK * 3
    for _ in range(300):
        lines.append(rng.choice(_OPENERS) + rng.choice(_ASKS))
        lines.append(rng.choice(_GREETINGS).capitalize() + "! " + rng.choice(_ANSWERS))
    return lines


def project_corpus() -> list[str]:
    """The tokenizer corpus, the same on every run."""
    rng = random.Random(20231014)
    return world_lines(rng, 600) + chat_lines(rng)
